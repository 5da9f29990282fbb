package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/caddyserver/certmagic"

	"minitwit/node/config"
	"minitwit/node/publictls"
)

// The public listener's TLS (tls.mode): plain HTTP, a self-signed
// certificate kept in the data dir, or certificates obtained and renewed by
// certmagic from an ACME CA, stored in the replicated state (publictls.CertStorage).
//
// In acme mode the node serves HTTPS on http_addr (":443" by default) and a
// plain listener on tls.redirect_addr (":80") that answers ACME HTTP-01
// challenges and redirects everything else with 308, which keeps a POST a
// POST with its body (a 301 or 302 turns the simulator's POSTs into GETs).
// Issuing runs in the background with certmagic's retries; until a
// certificate exists, TLS handshakes fail, and once one is in the
// replicated state (or this node's copy of it), the node serves it at start
// without needing the cluster. Certificates are ECDSA P-256 (certmagic's
// default), and Go's TLS server resumes sessions with tickets, which keeps
// the simulator's one-connection-per-request cheap.

const selfSignedDir = "tls"

// publicTLS is what the public listener needs for its TLS mode.
type publicTLS struct {
	config   *tls.Config  // nil: plain HTTP
	redirect http.Handler // for tls.redirect_addr; nil: no redirect listener
	hsts     string       // Strict-Transport-Security value, "" for none
	magic    *certmagic.Config
	cache    *certmagic.Cache
	stop     func()
	// manage starts certmagic's management; called once the listeners that
	// answer the challenges serve, so the first validation cannot find
	// the HTTP-01 port closed (which costs a failed order and a retry).
	manage func() error
}

// setupPublicTLS prepares the mode the configuration asks for. In acme
// mode, publicTLS.manage then starts certmagic's management of the domain
// in the background.
func (n *Node) setupPublicTLS(httpsPort string) (*publicTLS, error) {
	switch n.cfg.TLSMode() {
	case config.TLSSelfSigned:
		cert, err := loadOrMakeSelfSigned(filepath.Join(n.cfg.DataDir, selfSignedDir), n.selfSignedNames())
		if err != nil {
			return nil, fmt.Errorf("tls.mode self-signed: %w", err)
		}
		p := &publicTLS{config: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
		if n.cfg.TLS.RedirectAddr != "" {
			p.redirect = redirectToHTTPS("", httpsPort)
		}
		return p, nil
	case config.TLSACME:
		return n.setupACME(httpsPort)
	}
	return &publicTLS{}, nil
}

func (n *Node) setupACME(httpsPort string) (*publicTLS, error) {
	var roots *x509.CertPool
	if n.cfg.TLS.CABundle != "" {
		pemData, err := os.ReadFile(n.cfg.TLS.CABundle)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_bundle: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("tls.ca_bundle %s: no PEM certificate in it", n.cfg.TLS.CABundle)
		}
	}
	logger := zapToSlog(n.log.With("component", "certmagic"))
	p := &publicTLS{}
	p.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return p.magic, nil },
		Logger:           logger,
	})
	p.magic = certmagic.New(p.cache, certmagic.Config{
		Storage: publictls.NewCertStorage(n, n.nodeID),
		Logger:  logger,
		OnEvent: n.onCertEvent,
	})
	issuer := certmagic.NewACMEIssuer(p.magic, certmagic.ACMEIssuer{
		CA:           n.cfg.TLS.ACMECA,
		Email:        n.cfg.TLS.Email,
		Agreed:       true,
		TrustedRoots: roots,
		Logger:       logger,
		// Our own listeners answer the challenges; certmagic finds the
		// ports taken and leaves them to us.
		AltHTTPPort:    portOf(n.cfg.TLS.RedirectAddr, 80),
		AltTLSALPNPort: portOf(":"+httpsPort, 443),
	})
	p.magic.Issuers = []certmagic.Issuer{issuer}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = func() { cancel(); p.cache.Stop() }
	p.manage = func() error {
		if err := p.magic.ManageAsync(ctx, []string{n.cfg.TLS.Domain}); err != nil {
			return fmt.Errorf("tls.domain %s: %w", n.cfg.TLS.Domain, err)
		}
		return nil
	}
	p.config = p.magic.TLSConfig()
	p.config.NextProtos = append([]string{"h2", "http/1.1"}, p.config.NextProtos...)
	p.config.MinVersion = tls.VersionTLS12
	p.redirect = issuer.HTTPChallengeHandler(redirectToHTTPS(n.cfg.TLS.Domain, httpsPort))
	if age := time.Duration(n.cfg.TLS.HSTSMaxAge); age > 0 {
		p.hsts = "max-age=" + strconv.FormatInt(int64(age/time.Second), 10)
	}
	n.metrics.Gauge(`minitwit_tls_certificate_expiry_timestamp_seconds`, func() float64 {
		if t := n.CertificateExpiry(); !t.IsZero() {
			return float64(t.Unix())
		}
		return 0
	})
	n.log.Info("managing the certificate with ACME", "domain", n.cfg.TLS.Domain, "ca", n.cfg.TLS.ACMECA)
	return p, nil
}

// CertificateExpiry is when the certificate the public listener serves
// expires, or zero when there is none (plain HTTP, or not obtained yet).
func (n *Node) CertificateExpiry() time.Time {
	if n.tlsPublic == nil || n.tlsPublic.config == nil {
		return time.Time{}
	}
	name := n.cfg.TLS.Domain
	if name == "" {
		name = "localhost"
	}
	var cert *tls.Certificate
	var err error
	if get := n.tlsPublic.config.GetCertificate; get != nil {
		cert, err = get(&tls.ClientHelloInfo{ServerName: name})
	} else if len(n.tlsPublic.config.Certificates) > 0 {
		cert = &n.tlsPublic.config.Certificates[0]
	}
	if err != nil || cert == nil {
		return time.Time{}
	}
	leaf := cert.Leaf
	if leaf == nil && len(cert.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	if leaf == nil {
		return time.Time{}
	}
	return leaf.NotAfter
}

// certEvents are the certmagic events worth a log line and a counter; the
// set is fixed so the metric's labels stay bounded.
var certEvents = map[string]slog.Level{
	"cert_obtaining":    slog.LevelInfo,
	"cert_obtained":     slog.LevelInfo,
	"cert_failed":       slog.LevelError,
	"cert_ocsp_revoked": slog.LevelError,
}

func (n *Node) onCertEvent(_ context.Context, event string, data map[string]any) error {
	level, ok := certEvents[event]
	if !ok {
		return nil
	}
	n.metrics.CertEvent(event)
	attrs := []any{"event", event}
	for _, k := range []string{"identifier", "issuer", "renewal", "remaining", "error"} {
		if v, ok := data[k]; ok {
			attrs = append(attrs, k, fmt.Sprint(v))
		}
	}
	n.log.Log(context.Background(), level, "certificate", attrs...)
	return nil
}

// redirectToHTTPS answers 308 to the same path on HTTPS. The host is the
// configured domain, or the request's own host when there is none.
func redirectToHTTPS(domain, httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := domain
		if host == "" {
			host = r.Host
			if h, _, err := net.SplitHostPort(r.Host); err == nil {
				host = h
			}
		}
		if httpsPort != "443" {
			host = net.JoinHostPort(host, httpsPort)
		}
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// withHSTS adds Strict-Transport-Security to every answer.
func withHSTS(value string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", value)
		h.ServeHTTP(w, r)
	})
}

func portOf(addr string, fallback int) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fallback
	}
	p, err := strconv.Atoi(port)
	if err != nil || p == 0 {
		return fallback
	}
	return p
}

// selfSignedNames are the names a self-signed certificate covers: the
// domain if set, localhost, the node id, and the listener's IP if it has one.
func (n *Node) selfSignedNames() []string {
	names := []string{"localhost", "127.0.0.1", "::1", n.nodeID}
	if n.cfg.TLS.Domain != "" {
		names = append(names, n.cfg.TLS.Domain)
	}
	if host, _, err := net.SplitHostPort(n.cfg.HTTPAddr); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
			names = append(names, host)
		}
	}
	return names
}

// loadOrMakeSelfSigned returns the certificate in dir, making it on first
// use (ECDSA P-256, ten years). A certificate that exists but cannot be read
// is an error, not something to overwrite.
func loadOrMakeSelfSigned(dir string, names []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, "self-signed.crt"), filepath.Join(dir, "self-signed.key")
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		return cert, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return tls.Certificate{}, fmt.Errorf("%s: %w", dir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[len(names)-1], Organization: []string{"MiniTwit self-signed"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, name := range names {
		if ip := net.ParseIP(name); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, name)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeSynced(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeSynced(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}
