package httpui_test

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minitwit/node/nodetest"
)

// TestBrowserCrossOriginCannotFollow: Chromium, signed in to the node,
// opens pages of another origin (another port of 127.0.0.1, which is the
// same site to a browser, and localhost, which is another site) that try
// to make the user follow someone by a link the user clicks, by an image,
// and by a form that posts; nothing changes. The same browser then follows
// from the site itself, so the session was good all along.
func TestBrowserCrossOriginCannotFollow(t *testing.T) {
	t.Parallel()
	execPath := browserExecPath(t)
	n, base := nodetest.StartDefault(t, web)
	uiSignup(t, base, "victim")
	uiSignup(t, base, "target")

	target := html.EscapeString(base + "/target/follow")
	pages := map[string]string{
		"/link": `<a id="go" href="` + target + `">see cute cats</a>`,
		"/img":  `<img id="i" src="` + target + `" alt="">`,
		"/form": `<form id="f" method="post" action="` + target + `"><input type="hidden" name="x" value="1"><button id="b" type="submit">win</button></form>`,
	}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>evil</title></head><body>%s</body></html>", body)
	}))
	t.Cleanup(evil.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(evil.URL, "http://"))
	origins := []string{"http://127.0.0.1:" + port, "http://localhost:" + port}

	ctx := browserContext(t, execPath, 90*time.Second)
	browserGo(ctx, t, base+"/login")
	browserTypeInputs(ctx, t, "victim", uiPassword("victim"))
	browserWaitFlash(ctx, t, "/", "You were logged in")

	nodeHost := strings.TrimPrefix(base, "http://")
	onNode := fmt.Sprintf(`location.host === %q`, nodeHost)
	for _, origin := range origins {
		// A link the user clicks: a top-level GET navigation.
		browserGo(ctx, t, origin+"/link")
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#go"))); err != nil {
			t.Fatalf("clicking the link on %s: %v", origin, err)
		}
		browserWaitTrue(ctx, t, "the link's answer from the node", onNode+` && document.readyState === "complete"`, 15*time.Second)
		if uiIsFollowing(t, n, "victim", "target") {
			t.Fatalf("a link on %s made the user follow", origin)
		}

		// An image: a GET the page makes without the user.
		browserGo(ctx, t, origin+"/img")
		browserWaitTrue(ctx, t, "the image request to end", `document.getElementById("i").complete`, 15*time.Second)
		if uiIsFollowing(t, n, "victim", "target") {
			t.Fatalf("an image on %s made the user follow", origin)
		}

		// A form that posts to the node.
		browserGo(ctx, t, origin+"/form")
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#b"))); err != nil {
			t.Fatalf("submitting the form on %s: %v", origin, err)
		}
		browserWaitTrue(ctx, t, "the form's answer from the node", onNode+` && document.readyState === "complete"`, 15*time.Second)
		if uiIsFollowing(t, n, "victim", "target") {
			t.Fatalf("a form on %s made the user follow", origin)
		}
	}

	// The session survived all that: following from the site itself works.
	browserGo(ctx, t, base+"/target")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button.follow`))); err != nil {
		t.Fatalf("clicking Follow user: %v", err)
	}
	browserWaitFlash(ctx, t, "/target", uiFlashFollowing("target"))
	if !uiIsFollowing(t, n, "victim", "target") {
		t.Fatal("following from the site itself did not work")
	}
}
