package publictls

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

	"minitwit/store/fsutil"
)

// The public listener's TLS (tls.mode): plain HTTP, a self-signed
// certificate kept in the data dir, or certificates obtained and renewed by
// certmagic from an ACME CA, stored in the replicated state (CertStorage).
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

// Mode is the public listener's TLS mode.
type Mode int

const (
	Plain Mode = iota
	SelfSigned
	ACME
)

// Options are what Setup needs: the node's tls.* settings and identity.
type Options struct {
	Mode     Mode
	DataDir  string
	NodeID   string
	HTTPAddr string // the configured http_addr (its IP goes into a self-signed certificate)
	// HTTPSPort is the port the public listener is bound to.
	HTTPSPort    string
	Domain       string
	Email        string
	ACMECA       string
	CABundle     string
	RedirectAddr string
	HSTSMaxAge   time.Duration
	Log          *slog.Logger
	// Node stores ACME's certificates in the replicated state (acme mode).
	Node Node
	// CertEvent counts certmagic's events worth a metric (nil: none).
	CertEvent func(event string)
}

// Public is what the public listener needs for its TLS mode.
type Public struct {
	Config   *tls.Config  // nil: plain HTTP
	Redirect http.Handler // for tls.redirect_addr; nil: no redirect listener
	HSTS     string       // Strict-Transport-Security value, "" for none

	domain string
	magic  *certmagic.Config
	cache  *certmagic.Cache
	stop   func()
	// manage starts certmagic's management; called once the listeners that
	// answer the challenges serve, so the first validation cannot find
	// the HTTP-01 port closed (which costs a failed order and a retry).
	manage func() error
}

// Setup prepares the mode o asks for. In acme mode, Manage then starts
// certmagic's management of the domain in the background.
func Setup(o Options) (*Public, error) {
	switch o.Mode {
	case SelfSigned:
		cert, err := loadOrMakeSelfSigned(filepath.Join(o.DataDir, selfSignedDir), selfSignedNames(o))
		if err != nil {
			return nil, fmt.Errorf("tls.mode self-signed: %w", err)
		}
		p := &Public{Config: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
		if o.RedirectAddr != "" {
			p.Redirect = RedirectToHTTPS("", o.HTTPSPort)
		}
		return p, nil
	case ACME:
		return setupACME(o)
	}
	return &Public{}, nil
}

// Manage starts certmagic's management of the domain (acme mode; nothing
// otherwise).
func (p *Public) Manage() error {
	if p.manage == nil {
		return nil
	}
	return p.manage()
}

// Stop ends certmagic's background work (acme mode; nothing otherwise).
func (p *Public) Stop() {
	if p != nil && p.stop != nil {
		p.stop()
	}
}

func setupACME(o Options) (*Public, error) {
	var roots *x509.CertPool
	if o.CABundle != "" {
		pemData, err := os.ReadFile(o.CABundle)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_bundle: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("tls.ca_bundle %s: no PEM certificate in it", o.CABundle)
		}
	}
	logger := zapToSlog(o.Log.With("component", "certmagic"))
	p := &Public{domain: o.Domain}
	p.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return p.magic, nil },
		Logger:           logger,
	})
	p.magic = certmagic.New(p.cache, certmagic.Config{
		Storage: NewCertStorage(o.Node, o.NodeID),
		Logger:  logger,
		OnEvent: certEventLogger(o.Log, o.CertEvent),
	})
	issuer := certmagic.NewACMEIssuer(p.magic, certmagic.ACMEIssuer{
		CA:           o.ACMECA,
		Email:        o.Email,
		Agreed:       true,
		TrustedRoots: roots,
		Logger:       logger,
		// Our own listeners answer the challenges; certmagic finds the
		// ports taken and leaves them to us.
		AltHTTPPort:    portOf(o.RedirectAddr, 80),
		AltTLSALPNPort: portOf(":"+o.HTTPSPort, 443),
	})
	p.magic.Issuers = []certmagic.Issuer{issuer}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = func() { cancel(); p.cache.Stop() }
	p.manage = func() error {
		if err := p.magic.ManageAsync(ctx, []string{o.Domain}); err != nil {
			return fmt.Errorf("tls.domain %s: %w", o.Domain, err)
		}
		return nil
	}
	p.Config = p.magic.TLSConfig()
	p.Config.NextProtos = append([]string{"h2", "http/1.1"}, p.Config.NextProtos...)
	p.Config.MinVersion = tls.VersionTLS12
	p.Redirect = issuer.HTTPChallengeHandler(RedirectToHTTPS(o.Domain, o.HTTPSPort))
	if o.HSTSMaxAge > 0 {
		p.HSTS = "max-age=" + strconv.FormatInt(int64(o.HSTSMaxAge/time.Second), 10)
	}
	o.Log.Info("managing the certificate with ACME", "domain", o.Domain, "ca", o.ACMECA)
	return p, nil
}

// CertificateExpiry is when the certificate the listener serves expires,
// or zero when there is none (plain HTTP, or not obtained yet).
func (p *Public) CertificateExpiry() time.Time {
	if p == nil || p.Config == nil {
		return time.Time{}
	}
	name := p.domain
	if name == "" {
		name = "localhost"
	}
	var cert *tls.Certificate
	var err error
	if get := p.Config.GetCertificate; get != nil {
		cert, err = get(&tls.ClientHelloInfo{ServerName: name})
	} else if len(p.Config.Certificates) > 0 {
		cert = &p.Config.Certificates[0]
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

func certEventLogger(log *slog.Logger, count func(string)) func(context.Context, string, map[string]any) error {
	return func(_ context.Context, event string, data map[string]any) error {
		level, ok := certEvents[event]
		if !ok {
			return nil
		}
		if count != nil {
			count(event)
		}
		attrs := []any{"event", event}
		for _, k := range []string{"identifier", "issuer", "renewal", "remaining", "error"} {
			if v, ok := data[k]; ok {
				attrs = append(attrs, k, fmt.Sprint(v))
			}
		}
		log.Log(context.Background(), level, "certificate", attrs...)
		return nil
	}
}

// RedirectToHTTPS answers 308 to the same path on HTTPS. The host is the
// configured domain, or the request's own host when there is none.
func RedirectToHTTPS(domain, httpsPort string) http.Handler {
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

// WithHSTS adds Strict-Transport-Security to every answer.
func WithHSTS(value string, h http.Handler) http.Handler {
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
func selfSignedNames(o Options) []string {
	names := []string{"localhost", "127.0.0.1", "::1", o.NodeID}
	if o.Domain != "" {
		names = append(names, o.Domain)
	}
	if host, _, err := net.SplitHostPort(o.HTTPAddr); err == nil {
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
	if err := fsutil.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})); err != nil {
		return tls.Certificate{}, err
	}
	if err := fsutil.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}
