package httpui_test

// The course's Selenium UI tests, replayed with chromedp and Debian's
// Chromium against a real node: type into the page's inputs by position,
// press Enter in the submit, read the flashes from "ul.flashes li".

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// browserExecPath finds Chromium, or skips the test when it is absent;
// under CI=true absence is a failure, so CI cannot pass by skipping.
func browserExecPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("MINITWIT_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium not found at %s (%v); under CI=true the browser test must run: "+
				"apt-get install -y chromium, or set MINITWIT_CHROMIUM", path, err)
		}
		t.Skipf("skipping the browser test: Chromium not found at %s; install it with "+
			"`apt-get install -y chromium` or point MINITWIT_CHROMIUM at a Chromium binary", path)
	}
	return path
}

// browserContext starts a headless Chromium with a fresh profile; it ends
// with the test or after the deadline, whichever comes first.
func browserContext(t *testing.T, execPath string, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: close the tab, stop and wait for the
	// browser (before its profile dir is removed), then drop the deadline.
	t.Cleanup(cancel)
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancelBrowser)
	// Start the browser now, so a broken install fails here, clearly.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", execPath, err)
	}
	return bctx
}

// browserTypeInputs types into the page's inputs by position, as the
// course's tests do with find_elements(By.TAG_NAME, "input"), then presses
// Enter in the input after the last one typed into (the submit button).
func browserTypeInputs(ctx context.Context, t *testing.T, values ...string) {
	t.Helper()
	ids, err := chromedp.Run(ctx, chromedp.QueryNodeIDs(chromedp.CSSAll("input")))
	if err != nil {
		t.Fatalf("finding the inputs: %v", err)
	}
	if len(ids) < len(values)+1 {
		t.Fatalf("the page has %d inputs, want at least %d", len(ids), len(values)+1)
	}
	for i, v := range values {
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.NodeIDs{ids[i]}, v)); err != nil {
			t.Fatalf("typing into input %d: %v", i+1, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.NodeIDs{ids[len(values)]}, kb.Enter)); err != nil {
		t.Fatalf("pressing Enter in input %d: %v", len(values)+1, err)
	}
}

// browserWaitFlash waits until the page at path shows flash as an item of
// ul.flashes.
func browserWaitFlash(ctx context.Context, t *testing.T, path, flash string) {
	t.Helper()
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	js := fmt.Sprintf(`location.pathname === %s && [...document.querySelectorAll("ul.flashes li")].some(li => li.textContent.trim() === %s)`,
		quote(path), quote(flash))
	browserWaitTrue(ctx, t, fmt.Sprintf("flash %q on %s", flash, path), js, 15*time.Second)
}

// browserWaitTrue polls a JavaScript condition until it holds. It polls
// from Go, because a navigation destroys the page's JavaScript context
// under a poll that runs in the page.
func browserWaitTrue(ctx context.Context, t *testing.T, what, js string, within time.Duration) {
	t.Helper()
	var lastErr error
	err := testwait.Poll(ctx, within, func() error {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		lastErr = err
		if err == nil && !ok {
			return errors.New("false")
		}
		return err
	})
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		flashes, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("ul.flashes li")].map(li => li.textContent.trim()).join(" | ")`))
		t.Fatalf("waiting for %s: %v; the browser is at %s with flashes %q (last error: %v)", what, err, loc, flashes, lastErr)
	}
}

func browserEval[T any](ctx context.Context, t *testing.T, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func TestBrowserRegisterLoginPostLogout(t *testing.T) {
	t.Parallel()
	execPath := browserExecPath(t)
	// The node first, so that its cleanup runs after the browser's: a node
	// shutting down waits up to 5 s for the sockets Chromium preconnects.
	_, base := nodetest.StartDefault(t, web)
	ctx := browserContext(t, execPath, 60*time.Second)

	// Register: four inputs, Enter in the fifth.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/register")); err != nil {
		t.Fatal(err)
	}
	browserTypeInputs(ctx, t, "Me", "me@some.where", "secure123", "secure123")
	browserWaitFlash(ctx, t, "/login", "You were successfully registered and can login now")

	// Log in on the page the registration led to.
	browserTypeInputs(ctx, t, "Me", "secure123")
	browserWaitFlash(ctx, t, "/", "You were logged in")
	if h := browserEval[string](ctx, t, `document.querySelector("h2").textContent.trim()`); h != "My Timeline" {
		t.Errorf("heading %q, want My Timeline", h)
	}

	// Post through the post box; the text arrives as text, not markup.
	const msg = "Hello from <Chromium> & co"
	err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`form[action="/add_message"] input[name="text"]`), msg),
		chromedp.Click(chromedp.CSS(`form[action="/add_message"] [type="submit"]`)),
	)
	if err != nil {
		t.Fatalf("posting: %v", err)
	}
	browserWaitFlash(ctx, t, "/", "Your message was recorded")
	texts := browserEval[[]string](ctx, t, `[...document.querySelectorAll("ul.messages li")].map(li => li.textContent)`)
	if len(texts) != 1 || !strings.Contains(texts[0], msg) || !strings.Contains(texts[0], "Me") {
		t.Errorf("messages on My Timeline = %q, want one with %q by Me", texts, msg)
	}
	if n := browserEval[int](ctx, t, `document.querySelectorAll("ul.messages b, ul.messages chromium").length`); n != 0 {
		t.Errorf("the message text became %d elements", n)
	}

	// Log out through the navigation link.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href="/logout"]`))); err != nil {
		t.Fatalf("clicking sign out: %v", err)
	}
	browserWaitFlash(ctx, t, "/public", "You were logged out")
	if n := browserEval[int](ctx, t, `document.querySelectorAll('a[href="/login"]').length`); n == 0 {
		t.Error("after logout the page has no sign-in link")
	}
	public := browserEval[string](ctx, t, `document.querySelector("ul.messages").textContent`)
	if !strings.Contains(public, msg) {
		t.Errorf("the public timeline lacks %q: %q", msg, public)
	}
}
