package httpui_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// TestLoginReturnsToNext: signing in from an admin page returns there;
// a next that leads off the site, or nowhere useful, leads to "/".
func TestLoginReturnsToNext(t *testing.T) {
	t.Parallel()
	_, base := nodetest.StartDefault(t, web)
	anon := uiClient(t, base)
	p := anon.getStay(t, "/admin/charts?hours=3")
	uiWantRedirect(t, p, "/login?next="+url.QueryEscape("/admin/charts?hours=3"))
	form := anon.get(t, p.Location)
	uiWantStatus(t, form, http.StatusOK)
	uiWantContains(t, form, `<input type="hidden" name="next" value="/admin/charts?hours=3">`)
	// The course's tests find the form's inputs by position: next comes
	// after the submit button, so username, password, submit stay first.
	if i, j := strings.Index(form.Body, `type="submit"`), strings.Index(form.Body, `name="next"`); i < 0 || j < i {
		t.Error("the next field comes before the submit button")
	}

	// A wrong password keeps next in the form.
	bad := anon.post(t, "/login", uiForm("username", adminName, "password", "wrong", "next", "/admin/charts?hours=3"))
	uiWantStatus(t, bad, http.StatusBadRequest)
	uiWantContains(t, bad, `name="next" value="/admin/charts?hours=3"`)

	for next, want := range map[string]string{
		"/admin/charts?hours=3":  "/admin/charts?hours=3",
		"//evil.example/admin":   "/",
		"https://evil.example/":  "/",
		"/\\evil.example":        "/",
		"/logout":                "/",
		"":                       "/",
		"/admin/../somebody?x=1": "/somebody?x=1",
	} {
		s := uiClient(t, base)
		var p uiPage
		testwait.Until(t, "a sign-in that meets a leader", func() bool {
			p = s.postStay(t, "/login", uiForm("username", adminName, "password", nodetest.AdminPassword, "next", next))
			return p.Status != http.StatusServiceUnavailable
		})
		uiWantRedirect(t, p, want)
	}
	// The signed-out menu's sign-in link on a page without next: no field.
	uiWantLacks(t, uiClient(t, base).get(t, "/login?next=https://evil.example"), `name="next"`)
}

// TestErrorPagesKeepTheMenu: a signed-in user meeting a 403 or a 404
// still sees their own menu, not the signed-out one.
func TestErrorPagesKeepTheMenu(t *testing.T) {
	t.Parallel()
	_, base := nodetest.StartDefault(t, web)
	user := uiSignup(t, base, "wanderer")
	for path, status := range map[string]int{"/admin": http.StatusForbidden, "/nobody-here": http.StatusNotFound} {
		p := user.getStay(t, path)
		uiWantStatus(t, p, status)
		uiWantContains(t, p, "sign out [wanderer]", `href="/"`)
		uiWantLacks(t, p, `href="/login"`, `href="/register"`)
	}
	p := uiClient(t, base).getStay(t, "/nobody-here")
	uiWantStatus(t, p, http.StatusNotFound)
	uiWantContains(t, p, `href="/login"`)
	uiWantLacks(t, p, "sign out")
}

// TestLogTailNotInLatency: the live tail is counted as a response but its
// duration (as long as the page stays open) is no request latency.
func TestLogTailNotInLatency(t *testing.T) {
	t.Parallel()
	_, base := nodetest.StartDefault(t, web)
	admin := adminSession(t, base)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/admin/logs/stream", nil)
	resp, err := admin.stay.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the tail: %d", resp.StatusCode)
	}
	cancel()
	resp.Body.Close()
	counted := regexp.MustCompile(`(?m)^minitwit_http_responses_total\{route="GET /admin/logs/stream",status="\d+"\} 1$`)
	testwait.UntilNil(t, "the closed tail to be counted", func() error {
		if m := admin.getStay(t, "/metrics"); !counted.MatchString(m.Body) {
			return errors.New("not yet counted")
		}
		return nil
	})
	m := admin.getStay(t, "/metrics")
	uiWantLacks(t, m, `minitwit_request_duration_seconds_bucket{route="GET /admin/logs/stream"`,
		`minitwit_request_duration_seconds_count{route="GET /admin/logs/stream"`)
	uiWantContains(t, m, `minitwit_request_duration_seconds_count{route="POST /login"}`) // other requests are timed
}
