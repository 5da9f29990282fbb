package publictls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"

	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// pebbleCA is a real ACME server (letsencrypt/pebble, in process) on
// loopback. Its validation authority checks HTTP-01 on httpPort and
// TLS-ALPN-01 on tlsPort of the domain, resolved by the system resolver
// (the tests use "localhost").
type pebbleCA struct {
	directory string         // ACME directory URL
	bundle    string         // PEM file with the certificate of pebble's own HTTPS
	roots     *x509.CertPool // the root that issued certificates chain to
	orders    atomic.Int64   // new-order requests received
	finalized atomic.Int64   // finalize requests (a certificate asked for) received
	held      atomic.Int64   // requests that reached the gate
	gate      chan struct{}  // requests wait until it is closed
	openOnce  sync.Once
}

// open lets requests through.
func (p *pebbleCA) open() { p.openOnce.Do(func() { close(p.gate) }) }

var pebbleEnv sync.Once

// startPebble starts the server; with gated, every request waits until
// open is called.
func startPebble(t *testing.T, httpPort, tlsPort int, gated bool) *pebbleCA {
	t.Helper()
	pebbleEnv.Do(func() {
		os.Setenv("PEBBLE_VA_NOSLEEP", "1")      // validate at once
		os.Setenv("PEBBLE_WFE_NONCEREJECT", "0") // no deliberately bad nonces
	})
	logger := log.New(io.Discard, "", 0)
	if os.Getenv("MINITWIT_TEST_LOG") != "" {
		logger = log.New(os.Stderr, "pebble ", log.LstdFlags)
	}
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, httpPort, tlsPort, false, "", store)
	front := wfe.New(logger, store, validator, authority, nil, false, false, 0, 0)
	p := &pebbleCA{roots: x509.NewCertPool(), gate: make(chan struct{})}
	if !gated {
		p.open()
	}
	handler := front.Handler()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.held.Add(1)
		select {
		case <-p.gate:
		case <-r.Context().Done():
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			p.orders.Add(1)
		}
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/finalize-order/") {
			p.finalized.Add(1)
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { p.open(); srv.Close() })
	p.directory = srv.URL + wfe.DirectoryPath
	p.bundle = filepath.Join(t.TempDir(), "pebble-https.pem")
	if err := os.WriteFile(p.bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	p.roots.AddCert(authority.GetRootCert(0).Cert)
	return p
}

// freePort returns a port for pebble's validation authority to dial and
// the node to listen on, chosen before either starts.
func freePort(t *testing.T) int {
	t.Helper()
	return nodetest.FreePort(t)
}

func acmeConfig(cfg *config.Config, p *pebbleCA) {
	cfg.TLS.Mode = config.TLSACME
	cfg.TLS.Domain = "localhost"
	cfg.TLS.ACMECA = p.directory
	cfg.TLS.CABundle = p.bundle
	cfg.TLS.Email = "ops@example.org"
	cfg.TLS.RedirectAddr = "127.0.0.1:0"
}

// servedCert waits until addr completes a TLS handshake for localhost with
// a certificate that chains to roots, and returns the leaf.
func servedCert(t *testing.T, addr string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	var leaf *x509.Certificate
	// An order takes a few round trips and validations: more than the
	// usual wait on a loaded machine.
	testwait.Within(2*testwait.Timeout).UntilNil(t, addr+" to serve a certificate from the ACME server", func() error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{ServerName: "localhost", RootCAs: roots})
		if err != nil {
			return err
		}
		leaf = conn.ConnectionState().PeerCertificates[0]
		conn.Close()
		return nil
	})
	return leaf
}

// TestACMEObtainsAndServes: a node obtains a certificate from a real ACME
// server, answering the HTTP-01 or TLS-ALPN-01 challenge on its own
// listeners, serves HTTPS with it (with HSTS), and its plain listener
// redirects with 308 so that a JSON POST reaches the API intact.
func TestACMEObtainsAndServes(t *testing.T) {
	t.Parallel()
	httpsPort, redirectPort := freePort(t), freePort(t)
	p := startPebble(t, redirectPort, httpsPort, false)
	cfg := nodetest.Config(t.TempDir())
	acmeConfig(&cfg, p)
	cfg.HTTPAddr = ":" + strconv.Itoa(httpsPort)
	cfg.TLS.RedirectAddr = ":" + strconv.Itoa(redirectPort)
	n := nodetest.Start(t, web, cfg)

	leaf := servedCert(t, n.HTTPAddr(), p.roots)
	if leaf.DNSNames[0] != "localhost" || leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("certificate for %v, key %v; want localhost, ECDSA", leaf.DNSNames, leaf.PublicKeyAlgorithm)
	}
	if exp := n.CertificateExpiry(); !exp.Equal(leaf.NotAfter) {
		t.Errorf("CertificateExpiry %v, served certificate expires %v", exp, leaf.NotAfter)
	}
	hc := httpsClient(p.roots)
	resp, err := hc.Get("https://localhost:" + strconv.Itoa(httpsPort) + "/public")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("HTTPS /public: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	postThroughRedirect(t, hc, "http://localhost:"+strconv.Itoa(redirectPort), "over acme")
	if !nodetest.ReadUser(t, n, "over acme") {
		t.Fatal("the redirected POST did not register the user")
	}
	// One certificate asked for. Orders are not counted: on a loaded
	// machine a challenge can time out and certmagic orders again, which
	// is what it should do.
	if got := p.finalized.Load(); got != 1 {
		t.Errorf("%d certificates asked for at the ACME server (%d orders), want 1", got, p.orders.Load())
	}
}

// TestACMEClusterSharesOneCertificate: three nodes behind one name obtain
// one certificate between them (one order at the ACME server), all three
// serve it, and a node restarted without a quorum still serves it from its
// own copy of the replicated state.
func TestACMEClusterSharesOneCertificate(t *testing.T) {
	t.Parallel()
	httpsPort, redirectPort := freePort(t), freePort(t)
	// The ACME server holds every request until all three nodes run, so
	// that all three set out to obtain the certificate at once.
	p := startPebble(t, redirectPort, httpsPort, true)
	// Only node1 is where the ACME server looks; whichever node orders the
	// certificate, node1 answers the challenge from the shared state.
	nodes := nodetest.StartClusterWith(t, web, 3, func(i int, cfg *config.Config) {
		acmeConfig(cfg, p)
		if i == 0 {
			cfg.HTTPAddr = ":" + strconv.Itoa(httpsPort)
			cfg.TLS.RedirectAddr = ":" + strconv.Itoa(redirectPort)
		} else {
			cfg.HTTPAddr = "127.0.0.1:0"
		}
	})
	testwait.Until(t, "a node's first request to the ACME server", func() bool { return p.held.Load() > 0 })
	// The others may still be on their way; a second more widens the race
	// the test is after (which node orders). The assertions hold however
	// it goes, so this pause is time for the race, not a wait for a state.
	time.Sleep(time.Second)
	p.open()
	var serial string
	for _, n := range nodes {
		leaf := servedCert(t, n.HTTPAddr(), p.roots)
		if serial == "" {
			serial = leaf.SerialNumber.String()
		} else if leaf.SerialNumber.String() != serial {
			t.Errorf("%s serves certificate %s, node1 serves %s", n.ID(), leaf.SerialNumber, serial)
		}
	}
	if got := p.orders.Load(); got != 1 {
		t.Errorf("three nodes placed %d orders, want 1", got)
	}

	// Stop everyone, then bring one node back alone: no quorum, no leader,
	// and still its certificate.
	cfg := nodes[2].Config()
	for _, n := range nodes {
		closeNode(t, n)
	}
	alone, err := node.Start(cfg, node.Options{Logger: nodetest.Logger(), Handler: web})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		alone.Close(ctx)
	}()
	if st := alone.Status(); st.Ready {
		t.Fatalf("a lone node of three is ready: %+v", st)
	}
	if leaf := servedCert(t, alone.HTTPAddr(), p.roots); leaf.SerialNumber.String() != serial {
		t.Errorf("without quorum the node serves %s, want the cached %s", leaf.SerialNumber, serial)
	}
}
