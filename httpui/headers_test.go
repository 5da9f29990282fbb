package httpui_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"minitwit/node/config"
	"minitwit/node/nodetest"
)

// TestSecurityHeaders: every kind of answer carries the browser hardening
// headers, and the CSP allows no inline script.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	anon := uiClient(t, base)
	admin := adminSession(t, base)
	type probe struct {
		name   string
		s      *uiSession
		method string
		path   string
		status int
		auth   string // Authorization, for the simulator API
	}
	probes := []probe{
		{"public timeline", anon, "GET", "/public", 200, ""},
		{"login form", anon, "GET", "/login", 200, ""},
		{"redirect", anon, "GET", "/", 302, ""},
		{"unknown user page", anon, "GET", "/nobody-at-all", 404, ""},
		{"static file", anon, "GET", "/static/style.css", 200, ""},
		{"401 page", anon, "POST", "/add_message", 401, ""},
		{"405 from the mux", anon, "DELETE", "/public", 405, ""},
		{"api latest", anon, "GET", "/api/latest", 200, ""},
		{"api 403", anon, "GET", "/api/msgs", 403, ""},
		{"api with credentials", anon, "GET", "/api/msgs", 200, apiAuth},
		{"api 404 unknown user", anon, "GET", "/api/msgs/nobody-at-all", 404, apiAuth},
		{"admin overview", admin, "GET", "/admin", 200, ""},
		{"admin two-factor page", admin, "GET", "/admin/2fa", 200, ""},
		{"second-factor step without a password", anon, "GET", "/login/2fa", 302, ""},
		{"admin 403", uiSignup(t, base, "plain user"), "GET", "/admin", 403, ""},
		{"healthz", anon, "GET", "/healthz", 200, ""},
	}
	want := map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			req, err := http.NewRequest(p.method, base+p.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.auth != "" {
				req.Header.Set("Authorization", p.auth)
			}
			resp, err := p.s.stay.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != p.status {
				t.Errorf("status %d, want %d", resp.StatusCode, p.status)
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if pp := resp.Header.Get("Permissions-Policy"); !strings.Contains(pp, "camera=()") {
				t.Errorf("Permissions-Policy = %q", pp)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'",
				"img-src 'self' https://www.gravatar.com;"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
				t.Errorf("CSP %q allows inline script, eval or wildcards", csp)
			}
			if resp.Header.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS over plain HTTP")
			}
		})
	}
	// No page carries inline script or inline event handlers the CSP would block.
	for _, path := range []string{"/public", "/login", "/register", "/admin", "/admin/logs", "/admin/charts", "/admin/users", "/admin/messages"} {
		body := admin.get(t, path).Body
		if path == "/login" || path == "/register" || path == "/public" {
			body = anon.get(t, path).Body
		}
		for _, bad := range []string{"<script>", " onclick=", " onload=", " onsubmit=", " onchange=", " style=", "<style", "javascript:"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q, which the CSP blocks", path, bad)
			}
		}
	}
}

// TestConnectionCap: past http.max_connections the listener accepts no
// more connections until one closes.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	n := nodetest.Start(t, web, func() config.Config {
		cfg := nodetest.Config(t.TempDir())
		cfg.HTTP.MaxConnections = 16
		return cfg
	}())
	// Keep-alive connections of an ordinary client may already be open;
	// close them so the cap is ours to fill.
	http.DefaultClient.CloseIdleConnections()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 16 {
		c, err := net.Dial("tcp", n.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Wait until the server has accepted all 16: each answers a request.
	for _, c := range held {
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	extra, err := net.Dial("tcp", n.HTTPAddr()) // the kernel queues it
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if _, err := extra.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection past the cap was served")
	}
	held[0].Close()
	held = held[1:]
	extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil {
		t.Fatalf("the queued connection was not served once one closed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}
