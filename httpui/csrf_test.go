package httpui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCrossSiteRequestsChangeNothing: a browser sends the Lax session
// cookie on a cross-site top-level GET, but never the Strict companion
// cookie; over plain HTTP it sends no Sec-Fetch-Site either. Such a
// request, with or without a foreign Referer, changes nothing, while the
// course's flows (a cookie jar sending every cookie, no extra headers)
// keep working.
func TestCrossSiteRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	victim := uiSignup(t, base, "victim")
	uiSignup(t, base, "target")
	uiSignup(t, base, "followed")
	victim.get(t, "/followed/follow") // the course's flow: GET, no headers
	if !uiIsFollowing(t, n, "victim", "followed") {
		t.Fatal("the course's GET follow did not follow")
	}
	u, _ := url.Parse(base)
	var laxOnly []*http.Cookie
	for _, c := range victim.jar.Cookies(u) {
		if c.Name == "minitwit_session" {
			laxOnly = append(laxOnly, c)
		}
	}
	if len(laxOnly) != 1 {
		t.Fatal("no session cookie in the jar")
	}
	attack := func(method, path, body string, header map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		for _, c := range laxOnly {
			req.AddCookie(c)
		}
		resp, err := apiClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	before := uiCounts(t, n)
	for _, hdr := range []map[string]string{nil, {"Referer": "http://evil.example/page"}} {
		if code := attack("GET", "/target/follow", "", hdr); code != http.StatusForbidden {
			t.Errorf("cross-site GET follow (%v): %d, want 403", hdr, code)
		}
		if code := attack("GET", "/followed/unfollow", "", hdr); code != http.StatusForbidden {
			t.Errorf("cross-site GET unfollow (%v): %d, want 403", hdr, code)
		}
		if code := attack("POST", "/add_message", "text=pwned", hdr); code != http.StatusForbidden {
			t.Errorf("cross-site POST add_message (%v): %d, want 403", hdr, code)
		}
		if code := attack("GET", "/logout", "", hdr); code != http.StatusForbidden {
			t.Errorf("cross-site GET logout (%v): %d, want 403", hdr, code)
		}
	}
	if uiIsFollowing(t, n, "victim", "target") || !uiIsFollowing(t, n, "victim", "followed") {
		t.Error("a cross-site request changed a follow")
	}
	if after := uiCounts(t, n); after != before {
		t.Errorf("cross-site requests changed the store: %+v -> %+v", before, after)
	}
	// The session survived the cross-site logout, and the real one works.
	uiWantContains(t, victim.get(t, "/"), "My Timeline")
	uiWantFlashes(t, victim.get(t, "/logout"), uiFlashLoggedOut)
	if p := victim.getStay(t, "/"); p.Status != http.StatusFound {
		t.Errorf("after sign-out GET / answered %d, want a redirect", p.Status)
	}
}
