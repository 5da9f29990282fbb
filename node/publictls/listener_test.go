package publictls_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minitwit/httpui"
	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
)

// httpsClient trusts roots only and follows redirects (308 keeps the
// method and body).
func httpsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

// postThroughRedirect registers a user by POSTing JSON to the plain-HTTP
// redirect listener; the client follows the 308 to HTTPS.
func postThroughRedirect(t *testing.T, hc *http.Client, redirectURL, name string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": name, "email": name + "@x", "pwd": "p"})
	req, _ := http.NewRequest(http.MethodPost, redirectURL+"/api/register", bytes.NewReader(body))
	req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Request.URL.Scheme != "https" || resp.Request.Method != http.MethodPost {
		t.Fatalf("POST via the redirect: %d, ended at %s %s", resp.StatusCode, resp.Request.Method, resp.Request.URL)
	}
}

func TestSelfSignedMode(t *testing.T) {
	t.Parallel()
	cfg := nodetest.Config(t.TempDir())
	cfg.TLS.Mode = config.TLSSelfSigned
	cfg.TLS.RedirectAddr = "127.0.0.1:0"
	n := nodetest.Start(t, web, cfg)

	pemData, err := os.ReadFile(filepath.Join(n.DataDir(), "tls", "self-signed.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemData) {
		t.Fatal("no certificate in the self-signed file")
	}
	hc := httpsClient(roots)
	resp, err := hc.Get("https://" + n.HTTPAddr() + "/public")
	if err != nil {
		t.Fatalf("HTTPS with the generated certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("GET /public over HTTPS: %d", resp.StatusCode)
	}
	if exp := n.CertificateExpiry(); time.Until(exp) < 365*24*time.Hour {
		t.Errorf("certificate expiry %v", exp)
	}

	// Plain HTTP on the HTTPS port gets no page.
	resp, err = http.Get("http://" + n.HTTPAddr() + "/public")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(b), "timeline") {
			t.Fatalf("plain HTTP on the HTTPS port: %d %q", resp.StatusCode, b)
		}
	}

	// The redirect listener: 308 to HTTPS, and a POST arrives intact.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get("http://" + n.RedirectAddr() + "/public?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := strings.Cut(n.HTTPAddr(), ":")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusPermanentRedirect || loc != "https://127.0.0.1:"+port+"/public?x=1" {
		t.Fatalf("redirect: %d to %q", resp.StatusCode, loc)
	}
	postThroughRedirect(t, hc, "http://"+n.RedirectAddr(), "through the redirect")
	if !nodetest.ReadUser(t, n, "through the redirect") {
		t.Fatal("the redirected POST did not register the user")
	}

	// The certificate is kept: a restart serves the same one.
	cfg2 := n.Config()
	closeNode(t, n)
	back := nodetest.Start(t, web, cfg2)
	resp, err = hc.Get("https://" + back.HTTPAddr() + "/public")
	if err != nil {
		t.Fatalf("after a restart, the old certificate is not served: %v", err)
	}
	resp.Body.Close()
}

// web is the public handler the tests serve: the real web layer.
func web(n *node.Node) (node.Handler, error) { return httpui.ForNode(n) }

// closeNode stops n cleanly.
func closeNode(t *testing.T, n *node.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
