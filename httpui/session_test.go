package httpui_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/store"
)

// sessionOf returns the session cookie the session's jar holds for base.
func sessionOf(t *testing.T, s *uiSession) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(s.base)
	for _, c := range s.jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "minitwit_session") {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// signedInAs asks base's home page with only cookie c and reports whether
// it was served as a signed-in page.
func signedInAs(t *testing.T, base string, c *http.Cookie) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.AddCookie(c)
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusFound:
		return false
	}
	t.Fatalf("GET / answered %d", resp.StatusCode)
	return false
}

// TestSessionsEndOnEveryNode: sign-out, a password change and an admin's
// revoke end a session's copies on every node of a cluster.
func TestSessionsEndOnEveryNode(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartClusterWith(t, web, 3, nil)
	bases := make([]string, len(nodes))
	for i, n := range nodes {
		bases[i] = "http://" + n.HTTPAddr()
	}
	wantEverywhere := func(what string, c *http.Cookie, want bool) {
		t.Helper()
		for i, b := range bases {
			if got := signedInAs(t, b, c); got != want {
				t.Errorf("%s: node %d signed in = %v, want %v", what, i+1, got, want)
			}
		}
	}
	const pw = "first-password-1"
	alice := uiClient(t, bases[0])
	uiRegister(t, alice, "alice", "alice@example.com", pw)
	uiLogin(t, alice, "alice", pw)
	old := sessionOf(t, alice)
	wantEverywhere("a fresh session", old, true)

	// Sign-out on node 1 ends the copied cookie everywhere.
	p := alice.get(t, "/logout")
	uiWantFlashes(t, p, uiFlashLoggedOut)
	wantEverywhere("after sign-out", old, false)

	// A password change on node 2 ends the sessions made with the old
	// password; the session that made the change goes on.
	other := uiClient(t, bases[0])
	uiLogin(t, other, "alice", pw)
	stolen := sessionOf(t, other)
	changer := uiClient(t, bases[1])
	uiLogin(t, changer, "alice", pw)
	p = changer.post(t, "/login/password", uiForm("current", pw, "password", "second-password-2", "password2", "second-password-2"))
	uiWantStatus(t, p, http.StatusOK)
	wantEverywhere("after a password change", stolen, false)
	wantEverywhere("the changer's session", sessionOf(t, changer), true)

	// An admin on node 3 signs alice out everywhere.
	current := sessionOf(t, changer)
	admin := adminSession(t, bases[2])
	p = admin.post(t, "/admin/users/alice/signout", uiForm("back", "/admin/users"))
	uiWantContains(t, p, "Every session of alice was signed out.")
	wantEverywhere("after an admin's revoke", current, false)
	// A new sign-in works again.
	uiLogin(t, alice, "alice", "second-password-2")
	wantEverywhere("a new session after the revoke", sessionOf(t, alice), true)
}

// forgeSession writes a session cookie the way the node does, with the
// cluster's session key: the test is the cookie format's second reader.
func forgeSession(t *testing.T, n storeHolder, name string, issued, seen time.Time) *http.Cookie {
	t.Helper()
	var key []byte
	var u store.User
	var gen uint64
	uiView(t, n, func(tx *store.ReadTx) error {
		key = tx.SessionKey()
		var err error
		u, err = tx.UserByName(name)
		gen = tx.SessionGeneration(u.ID)
		return err
	})
	sum := sha256.Sum256([]byte(u.PasswordHash))
	tag := base64.RawURLEncoding.EncodeToString(sum[:9])
	payload := fmt.Sprintf("%d|%d|%s|%d|%d|%d", u.ID, issued.Add(30*24*time.Hour).Unix(), tag, gen, issued.Unix(), seen.Unix())
	m := hmac.New(sha256.New, key)
	m.Write([]byte("session\x00" + payload))
	b64 := base64.RawURLEncoding
	return &http.Cookie{Name: "minitwit_session", Value: b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(m.Sum(nil))}
}

// TestAdminSessionLifetime: an admin's session ends after 30 idle minutes
// or 12 hours; an ordinary user's lasts its 30 days; use refreshes it.
func TestAdminSessionLifetime(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	uiSignup(t, base, "plain")
	now := time.Now()
	adminPage := func(c *http.Cookie) (int, *http.Response) {
		req, _ := http.NewRequest("GET", base+"/admin", nil)
		req.AddCookie(c)
		resp, err := apiClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp
	}
	if code, resp := adminPage(forgeSession(t, n, adminName, now.Add(-time.Hour), now.Add(-29*time.Minute))); code != http.StatusOK {
		t.Errorf("admin idle 29 min: %d, want 200", code)
	} else if !strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "minitwit_session=") {
		t.Error("an admin's session in use was not refreshed")
	}
	if code, _ := adminPage(forgeSession(t, n, adminName, now.Add(-time.Hour), now.Add(-31*time.Minute))); code != http.StatusFound {
		t.Errorf("admin idle 31 min: %d, want a redirect to /login", code)
	}
	if code, _ := adminPage(forgeSession(t, n, adminName, now.Add(-13*time.Hour), now.Add(-time.Minute))); code != http.StatusFound {
		t.Errorf("admin session 13 h old: %d, want a redirect to /login", code)
	}
	if !signedInAs(t, base, forgeSession(t, n, "plain", now.Add(-20*24*time.Hour), now.Add(-20*24*time.Hour))) {
		t.Error("an ordinary 20-day-old session was refused")
	}
}

// TestSessionCookieBehindProxy: __Host- and Secure when the site is served
// over HTTPS by a trusted proxy; a forged X-Forwarded-Proto from anyone
// else is ignored.
func TestSessionCookieBehindProxy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		proxies    []string // http.trusted_proxies
		deprecated []string // the old top-level trusted_proxies
		secure     bool
	}{
		{"trusted proxy", []string{"127.0.0.1"}, nil, true},
		{"trusted proxy under the deprecated key", nil, []string{"127.0.0.0/8"}, true},
		{"untrusted peer", nil, nil, false},
		{"another proxy trusted", []string{"10.0.0.0/8"}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, base := fake(t, func(c *config.Config) { c.HTTP.TrustedProxies, c.TrustedProxyIPs = tt.proxies, tt.deprecated })
			uiRegister(t, uiClient(t, base), "bob", "bob@example.com", "bob-password")
			s := uiClient(t, base)
			hdr := map[string]string{"X-Forwarded-Proto": "https", "Content-Type": "application/x-www-form-urlencoded"}
			p := s.do(t, s.stay, "POST", "/login", uiForm("username", "bob", "password", "bob-password"), hdr)
			var got *http.Cookie
			for _, c := range p.Cookies {
				if strings.HasSuffix(c.Name, "minitwit_session") {
					got = c
				}
			}
			if got == nil {
				t.Fatalf("no session cookie set (status %d)", p.Status)
			}
			wantName := "minitwit_session"
			if tt.secure {
				wantName = "__Host-minitwit_session"
			}
			if got.Name != wantName || got.Secure != tt.secure || got.Path != "/" || got.Domain != "" || !got.HttpOnly {
				t.Errorf("cookie %s Secure=%v Path=%q Domain=%q HttpOnly=%v; want %s Secure=%v", got.Name, got.Secure, got.Path, got.Domain, got.HttpOnly, wantName, tt.secure)
			}
		})
	}
}
