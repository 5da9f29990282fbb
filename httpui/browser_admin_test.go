package httpui_test

// The admin page in a real browser (Debian's headless Chromium): sign in
// as the first admin, read the overview, see charts with data points after
// some traffic, see a request made during the test arrive in the live log
// tail (and pause/resume it), flag a message and see it vanish from
// /public.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"minitwit/httpui/auth"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// browserScreenshot saves the page as dir/name.png; with dir "" it takes
// none (see browserScratchShots).
func browserScreenshot(ctx context.Context, t *testing.T, dir, name string) {
	t.Helper()
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

func browserGo(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
}

func TestBrowserAdminPage(t *testing.T) {
	t.Parallel()
	execPath := browserExecPath(t)
	n, base := nodetest.StartDefault(t, web)
	shots := browserScratchShots(t) // TestBrowserEveryPage keeps every page's, on request
	ctx := browserContext(t, execPath, 90*time.Second)

	// Traffic for the charts, and a message to moderate.
	author := uiSignup(t, base, "chatty")
	uiPostMessage(t, author, "first words")
	uiPostMessage(t, author, "words to moderate away")
	for range 30 {
		author.get(t, "/public")
	}

	// Sign in as the first admin through the form.
	browserGo(ctx, t, base+"/login")
	browserTypeInputs(ctx, t, adminName, nodetest.AdminPassword)
	browserWaitFlash(ctx, t, "/", "You were logged in")

	// The overview lists this node as the leader, with the graders' view.
	browserGo(ctx, t, base+"/admin")
	row := browserEval[string](ctx, t, fmt.Sprintf(`document.querySelector('tr[data-node=%q]').textContent`, n.ID()))
	if !strings.Contains(row, "leader") || !strings.Contains(row, "ready") {
		t.Errorf("the node's row lacks its role or health: %q", row)
	}
	if g := browserEval[string](ctx, t, `document.querySelector("#graders").textContent`); !strings.Contains(g, "Public timeline") {
		t.Errorf("no graders' view: %q", g)
	}
	browserScreenshot(ctx, t, shots, "overview")

	// Charts: reload until the request chart holds a few points.
	testwait.UntilNil(t, "the request chart to hold 3 points and a line", func() error {
		browserGo(ctx, t, base+"/admin/charts")
		pts := browserEval[int](ctx, t, `Number(document.querySelector("#charts svg").getAttribute("data-points"))`)
		lines := browserEval[int](ctx, t, `document.querySelectorAll("#charts svg path.chart-line").length`)
		if pts < 3 || lines == 0 {
			return fmt.Errorf("the request chart has %d points and %d lines", pts, lines)
		}
		return nil
	})
	browserScreenshot(ctx, t, shots, "charts")

	// The live tail: once connected, a request made now appears within
	// seconds; paused, the next one is held back until resume.
	browserGo(ctx, t, base+"/admin/logs")
	browserWaitTrue(ctx, t, "the live tail to connect",
		`document.querySelector("#tailstatus").textContent.startsWith("Live")`, 10*time.Second)
	// A failed sign-in logs a short hash of the name typed, not the name.
	uiClient(t, base).post(t, "/login", uiForm("username", "browser-tail-marker", "password", "x"))
	browserWaitTrue(ctx, t, "the request's log line in the tail",
		fmt.Sprintf(`[...document.querySelectorAll("#log tbody tr")].some(tr => tr.textContent.includes(%q))`, loginNameHash("browser-tail-marker")), 10*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#pause"))); err != nil {
		t.Fatal(err)
	}
	uiClient(t, base).post(t, "/login", uiForm("username", "paused-marker", "password", "x"))
	browserWaitTrue(ctx, t, "held lines while paused",
		`document.querySelector("#tailstatus").textContent.includes("held")`, 10*time.Second)
	if browserEval[bool](ctx, t, fmt.Sprintf(`document.querySelector("#log").textContent.includes(%q)`, loginNameHash("paused-marker"))) {
		t.Error("a line arrived in the table while the tail was paused")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#pause"))); err != nil {
		t.Fatal(err)
	}
	browserWaitTrue(ctx, t, "the held line after resume",
		fmt.Sprintf(`document.querySelector("#log").textContent.includes(%q)`, loginNameHash("paused-marker")), 10*time.Second)
	browserScreenshot(ctx, t, shots, "logs")

	// Moderation: flag the message; it vanishes from /public.
	browserGo(ctx, t, base+"/admin/messages?q=moderate")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#messages form button`))); err != nil {
		t.Fatalf("clicking Flag: %v", err)
	}
	browserWaitTrue(ctx, t, "the flag's flash",
		`[...document.querySelectorAll("ul.flashes li")].some(li => li.textContent.includes("flagged"))`, 5*time.Second)
	browserScreenshot(ctx, t, shots, "moderation")
	browserGo(ctx, t, base+"/public")
	public := browserEval[string](ctx, t, `document.querySelector("ul.messages").textContent`)
	if strings.Contains(public, "words to moderate away") || !strings.Contains(public, "first words") {
		t.Errorf("after flagging, /public shows %q", public)
	}
}

// TestBrowserAdmin2FA: the enrollment page in a real browser shows the QR
// code (the inline SVG draws under the page's CSP), a code typed from the
// secret turns two-factor sign-in on and shows the recovery codes, and
// the next sign-in asks for a code after the password.
func TestBrowserAdmin2FA(t *testing.T) {
	t.Parallel()
	execPath := browserExecPath(t)
	_, base := nodetest.StartDefault(t, web)
	ctx := browserContext(t, execPath, 90*time.Second)

	browserGo(ctx, t, base+"/login")
	browserTypeInputs(ctx, t, adminName, nodetest.AdminPassword)
	browserWaitFlash(ctx, t, "/", "You were logged in")

	browserGo(ctx, t, base+"/admin/2fa")
	if w := browserEval[float64](ctx, t, `document.querySelector("#totp-qr svg").getBoundingClientRect().width`); w < 100 {
		t.Errorf("the QR code is %v px wide", w)
	}
	secret := browserEval[string](ctx, t, `document.querySelector("#totp-enroll input[name=secret]").value`)
	code, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#totp-enroll input[name=code]`), code)); err != nil {
		t.Fatalf("typing the code: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#totp-enroll button`))); err != nil {
		t.Fatalf("turning it on: %v", err)
	}
	browserWaitTrue(ctx, t, "the recovery codes", `document.querySelectorAll("#recovery-codes li").length === 10`, 10*time.Second)

	browserGo(ctx, t, base+"/logout")
	browserGo(ctx, t, base+"/login")
	browserTypeInputs(ctx, t, adminName, nodetest.AdminPassword)
	browserWaitTrue(ctx, t, "the code page", `location.pathname === "/login/2fa"`, 10*time.Second)
	next, err := auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod))
	if err != nil {
		t.Fatal(err)
	}
	browserTypeInputs(ctx, t, next)
	browserWaitFlash(ctx, t, "/", "You were logged in")
	browserGo(ctx, t, base+"/admin")
	if h := browserEval[string](ctx, t, `document.querySelector("h2").textContent`); h != "Overview" {
		t.Errorf("after the code, /admin shows %q", h)
	}
}
