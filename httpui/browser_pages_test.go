package httpui_test

// Every page, user and admin, in a real browser at a desktop width (1280
// px) and a phone's (375 px): nothing may stick out of the viewport
// sideways (a wide table scrolls inside its own box), and no page may log
// a console error or throw. Each page is photographed at both widths:
// into a temporary directory (not under -short), or with
// MINITWIT_SCREENSHOTS=DIR into DIR (`make screenshots` writes
// docs/screenshots/ that way).

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
)

// browserWidths are the viewports every page is checked at: a laptop's,
// and a small phone's in portrait.
var browserWidths = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"1280", 1280, 900, false},
	{"375", 375, 812, true},
}

// browserShotDir is where screenshots go: MINITWIT_SCREENSHOTS when set
// (created if need be), else browserScratchShots.
func browserShotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MINITWIT_SCREENSHOTS")
	if dir == "" {
		return browserScratchShots(t)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browserScratchShots is where screenshots nobody asked for go: a
// directory removed with the test, so that make test still takes every
// one; under -short (make test-short) none ("" to browserScreenshot): a
// full-page screenshot costs Chromium a render and a PNG encoding, and
// the race-instrumented test process the decoding of megabytes of
// base64, for a file nobody looks at.
func browserScratchShots(t *testing.T) string {
	if testing.Short() {
		return ""
	}
	return t.TempDir()
}

// browserConsole collects what the page reports as errors: uncaught
// exceptions, console.error calls, and the browser's own error entries
// (a failed script or style sheet, a refused by Content-Security-Policy).
type browserConsole struct {
	mu     sync.Mutex
	errors []string
}

func browserWatchConsole(ctx context.Context, t *testing.T) *browserConsole {
	t.Helper()
	c := &browserConsole{}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			msg = "console.error: " + strings.Join(parts, " ")
		case *log.EventEntryAdded:
			if ev.Entry.Level != log.EntryLevelError {
				return
			}
			msg = fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		default:
			return
		}
		c.mu.Lock()
		c.errors = append(c.errors, msg)
		c.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// take returns the errors collected since the last take.
func (c *browserConsole) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.errors
	c.errors = nil
	return out
}

// browserCheckPage opens path at every width, checks that nothing
// overflows the viewport sideways and that the page logged no error, and
// saves dir/name-WIDTH.png. An error page's own status is expected in the
// browser's log (it reports every 4xx document), nothing else.
func browserCheckPage(ctx context.Context, t *testing.T, con *browserConsole, base, dir, path, name string, status int) {
	t.Helper()
	for _, w := range browserWidths {
		opts := []chromedp.EmulateViewportOption{}
		if w.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w.width, w.height, opts...), chromedp.Navigate(base+path)); err != nil {
			t.Fatalf("%s at %s px: %v", path, w.name, err)
		}
		if got := browserEval[int64](ctx, t, `window.innerWidth`); got != w.width {
			t.Errorf("%s at %s px: the layout is %d px wide (a page without the viewport meta tag?)", path, w.name, got)
		}
		// The document must be no wider than the viewport; name the
		// elements that stick out when it is.
		if over := browserEval[string](ctx, t, `(() => {
			const vw = window.innerWidth, sw = document.documentElement.scrollWidth;
			if (sw <= vw) return "";
			const out = [...document.querySelectorAll("body *")]
				.filter(e => e.getBoundingClientRect().right > vw + 0.5 && !e.closest(".scroll"))
				.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "") + " (right " + Math.round(e.getBoundingClientRect().right) + ")");
			return "the page is " + sw + " px wide in a " + vw + " px viewport; sticking out: " + out.join(", ");
		})()`); over != "" {
			t.Errorf("%s at %s px: %s", path, w.name, over)
		}
		browserScreenshot(ctx, t, dir, name+"-"+w.name)
		for _, e := range con.take() {
			if status != 0 && strings.Contains(e, fmt.Sprintf("status of %d", status)) && strings.Contains(e, base+path) {
				continue
			}
			t.Errorf("%s at %s px: %s", path, w.name, e)
		}
	}
}

// TestBrowserEveryPage walks every page a user and an admin see.
func TestBrowserEveryPage(t *testing.T) {
	t.Parallel()
	execPath := browserExecPath(t)
	n, base := nodetest.StartDefault(t, web)
	dir := browserShotDir(t)
	ctx := browserContext(t, execPath, 4*time.Minute)
	con := browserWatchConsole(ctx, t)

	// Some life for the timelines and the charts.
	author := uiSignup(t, base, "chatty")
	other := uiSignup(t, base, "quiet")
	uiPostMessage(t, other, "Good morning from the quiet one")
	other.post(t, "/chatty/follow", nil)
	for i, text := range []string{
		"first words",
		"A longer message, to see how the timeline wraps text on a narrow screen without pushing anything off the page.",
		"averyveryveryveryveryveryveryveryveryveryveryveryveryveryverylongwordwithoutspaces",
	} {
		uiPostMessage(t, author, fmt.Sprintf("%s (%d)", text, i+1))
	}
	author.post(t, "/quiet/follow", nil)

	// Anonymous pages.
	browserCheckPage(ctx, t, con, base, dir, "/public", "user-public", 0)
	browserCheckPage(ctx, t, con, base, dir, "/register", "user-register", 0)
	browserCheckPage(ctx, t, con, base, dir, "/login", "user-login", 0)
	browserCheckPage(ctx, t, con, base, dir, "/nobody-by-this-name", "user-404", 404)

	// A signed-in user's pages; the admin page is not for them.
	browserGo(ctx, t, base+"/login")
	browserTypeInputs(ctx, t, "chatty", uiPassword("chatty"))
	browserWaitFlash(ctx, t, "/", "You were logged in")
	browserCheckPage(ctx, t, con, base, dir, "/", "user-timeline", 0)
	browserCheckPage(ctx, t, con, base, dir, "/quiet", "user-profile", 0)
	browserCheckPage(ctx, t, con, base, dir, "/login/password", "user-password", 0)
	browserCheckPage(ctx, t, con, base, dir, "/admin", "user-403", 403)
	if !browserEval[bool](ctx, t, `document.querySelector('a[href="/logout"]') !== null`) {
		t.Error("the 403 page shows a signed-in user the signed-out menu")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href="/logout"]`))); err != nil {
		t.Fatalf("clicking sign out: %v", err)
	}
	browserWaitFlash(ctx, t, "/public", "You were logged out")

	// The second step of a sign-in, for an account with a second factor.
	if res, err := n.Propose(ctx, &raftfsm.TOTPEnroll{User: "quiet", Secret: "JBSWY3DPEHPK3PXP", Step: 1}); err != nil || res.Err != nil {
		t.Fatalf("enrolling quiet's second factor: %v %v", err, res.Err)
	}
	browserGo(ctx, t, base+"/login")
	browserTypeInputs(ctx, t, "quiet", uiPassword("quiet"))
	browserWaitTrue(ctx, t, "the code page", `location.pathname === "/login/2fa"`, 10*time.Second)
	browserCheckPage(ctx, t, con, base, dir, "/login/2fa", "user-2fa", 0)

	// An admin asks for a chart page, signs in, and is back on it.
	browserGo(ctx, t, base+"/admin/users?q=ch")
	browserWaitTrue(ctx, t, "the sign-in page", `location.pathname === "/login"`, 10*time.Second)
	browserTypeInputs(ctx, t, adminName, nodetest.AdminPassword)
	browserWaitTrue(ctx, t, "the users page after signing in",
		`location.pathname + location.search === "/admin/users?q=ch" && document.querySelector('tr[data-user="chatty"]') !== null`, 15*time.Second)

	// Charts with a line worth looking at: traffic until a few seconds
	// of samples have arrived.
	testwait.UntilNil(t, "the request chart to hold 12 points", func() error {
		for range 10 {
			author.get(t, "/public")
		}
		browserGo(ctx, t, base+"/admin/charts")
		if pts := browserEval[int](ctx, t, `Number(document.querySelector("#charts svg").getAttribute("data-points"))`); pts < 12 {
			return fmt.Errorf("the request chart has %d points", pts)
		}
		return nil
	})
	con.take() // the reloads above were no page under test
	browserCheckPage(ctx, t, con, base, dir, "/admin", "admin-overview", 0)
	if ft := browserEval[string](ctx, t, `document.querySelector("#faulttolerance").textContent`); !strings.Contains(ft, "1 voter, quorum 1") {
		t.Errorf("fault tolerance line %q", ft)
	}
	if ca := browserEval[string](ctx, t, `document.querySelector("#clusterca").textContent`); !regexp.MustCompile(`^cluster CA: [0-9a-f]{16} \(`).MatchString(ca) {
		t.Errorf("cluster CA line %q", ca)
	}
	browserCheckPage(ctx, t, con, base, dir, "/admin/charts", "admin-charts", 0)
	// The charts share the page's width: at 1280 px (the last width
	// was 375) check again that two charts fill a row.
	browserCheckChartsFill(ctx, t, base)
	browserCheckPage(ctx, t, con, base, dir, "/admin/logs", "admin-logs", 0)
	browserCheckPage(ctx, t, con, base, dir, "/admin/messages?user=chatty", "admin-moderation", 0)
	browserCheckPage(ctx, t, con, base, dir, "/admin/2fa", "admin-2fa", 0)
	browserCheckPage(ctx, t, con, base, dir, "/admin/users", "admin-users", 0)
	// The audit trail, with a line as the internode port records one.
	if res, err := n.Propose(ctx, &raftfsm.Audit{Time: time.Now().UnixNano(), Node: "node-with-a-long-name-2", Via: n.ID(), Action: "read join token"}); err != nil || res.Err != nil {
		t.Fatalf("an audit line: %v %v", err, res.Err)
	}
	browserCheckPage(ctx, t, con, base, dir, "/admin/audit", "admin-audit", 0)
	// At 375 px (the last width) every button of the users page can be
	// reached: inside the page, or inside the table's scrolling box.
	if cut := browserEval[string](ctx, t, `[...document.querySelectorAll("#users button")].filter(b => {
		const r = b.getBoundingClientRect(), box = b.closest(".scroll");
		return r.width === 0 || (r.right > window.innerWidth && !(box && box.scrollWidth > box.clientWidth));
	}).map(b => b.textContent).join(", ")`); cut != "" {
		t.Errorf("users page at 375 px: buttons cut off: %s", cut)
	}
}

// browserCheckChartsFill: at the desktop width the charts use the page's
// width (two to a row), not a fixed 720 px with the rest left empty.
func browserCheckChartsFill(ctx context.Context, t *testing.T, base string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/admin/charts")); err != nil {
		t.Fatal(err)
	}
	ratio := browserEval[float64](ctx, t, `(() => {
		const box = document.querySelector("#charts").getBoundingClientRect();
		const svgs = [...document.querySelectorAll("#charts svg")].slice(0, 2).map(s => s.getBoundingClientRect());
		return svgs[0].top === svgs[1].top ? (svgs[1].right - svgs[0].left) / box.width : svgs[0].width / box.width;
	})()`)
	if ratio < 0.97 {
		t.Errorf("the first row of charts spans %.0f%% of the page's width, want all of it", ratio*100)
	}
}
