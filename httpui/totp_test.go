package httpui_test

import (
	"bytes"
	"context"
	"html"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"minitwit/httpui/auth"
	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Two-factor sign-in for admins, against a real node: enrolling from the
// admin page, signing in with a code or a recovery code, each good once,
// wrong codes refused and limited, and admin.require_2fa.

var (
	totpSecretRE   = regexp.MustCompile(`name="secret" value="([A-Z2-7]+)"`)
	totpURIRE      = regexp.MustCompile(`<code id="totp-uri">([^<]*)</code>`)
	totpRecoveryRE = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// totpCode is secret's code at now+d.
func totpCode(t testing.TB, secret string, d time.Duration) string {
	t.Helper()
	c, err := auth.TOTPCode(secret, time.Now().Add(d))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// totpWrongCode is a six-digit code that no step near now accepts.
func totpWrongCode(t testing.TB, secret string) string {
	t.Helper()
	near := []string{}
	for d := -2; d <= 2; d++ {
		near = append(near, totpCode(t, secret, time.Duration(d)*auth.TOTPPeriod))
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !slices.Contains(near, c) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// totpEnroll enrolls s's admin from the admin page and returns the secret
// and the recovery codes shown.
func totpEnroll(t testing.TB, s *uiSession) (string, []string) {
	t.Helper()
	p := s.get(t, "/admin/2fa")
	uiWantStatus(t, p, http.StatusOK)
	m := totpSecretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret on the enrollment page:\n%s", p.Body)
	}
	secret := m[1]
	p = s.post(t, "/admin/2fa", uiForm("secret", secret, "code", totpCode(t, secret, 0)))
	uiWantStatus(t, p, http.StatusOK)
	var codes []string
	for _, c := range totpRecoveryRE.FindAllStringSubmatch(p.Body, -1) {
		codes = append(codes, c[1])
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes shown, want %d:\n%s", len(codes), auth.RecoveryCodeCount, p.Body)
	}
	return secret, codes
}

// totpPassword signs a fresh browser in with the password only and checks
// that it is asked for a code, not signed in.
func totpPassword(t testing.TB, base, name, password string) *uiSession {
	t.Helper()
	s := uiClient(t, base)
	p := s.postStay(t, "/login", uiForm("username", name, "password", password))
	uiWantRedirect(t, p, "/login/2fa")
	uiWantRedirect(t, s.getStay(t, "/admin"), "/login?next=%2Fadmin") // no session yet
	p = s.get(t, "/login/2fa")
	uiWantStatus(t, p, http.StatusOK)
	uiWantContains(t, p, "Second Step", `name="code"`)
	return s
}

func totpStored(t testing.TB, n *node.Node, name string) (store.TOTP, bool) {
	t.Helper()
	var got store.TOTP
	var ok bool
	uiView(t, n, func(tx *store.ReadTx) error {
		u, err := tx.UserByName(name)
		if err != nil {
			return err
		}
		got, ok, err = tx.TOTP(u.ID)
		return err
	})
	return got, ok
}

// logBuffer collects a node's log lines for the test to search.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestAdmin2FAEnrollAndSignIn(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	n := nodetest.StartWith(t, nodetest.Config(t.TempDir()), node.Options{Handler: web,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	base := "http://" + n.HTTPAddr()
	admin := adminSession(t, base)

	// The enrollment page: QR code drawn inline (no image source the CSP
	// would have to allow), the otpauth URI and the secret; nothing
	// stored yet.
	p := admin.get(t, "/admin/2fa")
	uiWantStatus(t, p, http.StatusOK)
	uiWantContains(t, p, `<svg xmlns="http://www.w3.org/2000/svg" class="qr"`, "<path fill=\"#000\" d=\"M", "otpauth URI", "Turn on two-factor sign-in")
	uiWantLacks(t, p, "<img", "data:")
	secret := totpSecretRE.FindStringSubmatch(p.Body)[1]
	uri := html.UnescapeString(totpURIRE.FindStringSubmatch(p.Body)[1])
	if !strings.HasPrefix(uri, "otpauth://totp/MiniTwit:") || !strings.Contains(uri, "secret="+secret) || !strings.Contains(uri, "issuer=MiniTwit") {
		t.Errorf("otpauth URI %q for secret %s", uri, secret)
	}
	if _, ok := totpStored(t, n, adminName); ok {
		t.Fatal("a second factor is stored before it was confirmed")
	}

	// Refused enrollments change nothing.
	p = admin.post(t, "/admin/2fa", uiForm("secret", secret, "code", totpWrongCode(t, secret)))
	uiWantStatus(t, p, http.StatusBadRequest)
	uiWantContains(t, p, "Invalid code", "name=\"secret\" value=\""+secret+"\"") // the same secret, to try again
	p = admin.post(t, "/admin/2fa", uiForm("secret", "NOT-A-SECRET", "code", "123456"))
	uiWantStatus(t, p, http.StatusBadRequest)
	if _, ok := totpStored(t, n, adminName); ok {
		t.Fatal("a refused enrollment stored a second factor")
	}

	// Confirmed with the app's code: recovery codes once, stored hashed.
	p = admin.post(t, "/admin/2fa", uiForm("secret", secret, "code", totpCode(t, secret, 0)))
	uiWantStatus(t, p, http.StatusOK)
	uiWantContains(t, p, "Two-factor sign-in is on", "shown only now")
	var codes []string
	for _, c := range totpRecoveryRE.FindAllStringSubmatch(p.Body, -1) {
		codes = append(codes, c[1])
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes shown, want %d", len(codes), auth.RecoveryCodeCount)
	}
	stored, ok := totpStored(t, n, adminName)
	if !ok || stored.Secret != secret || len(stored.RecoveryHashes) != len(codes) {
		t.Fatalf("stored %+v after enrolling", stored)
	}
	for _, c := range codes {
		if slices.Contains(stored.RecoveryHashes, c) || !slices.Contains(stored.RecoveryHashes, auth.HashRecoveryCode(c)) {
			t.Errorf("recovery code %s is not stored as its hash", c)
		}
	}
	p = admin.get(t, "/admin/2fa")
	uiWantContains(t, p, `id="totp-status"`, "10 recovery codes left")
	uiWantLacks(t, p, codes[0], secret)

	// Signing in: the password leads to the code; a wrong code is refused.
	s := totpPassword(t, base, adminName, nodetest.AdminPassword)
	p = s.post(t, "/login/2fa", uiForm("code", totpWrongCode(t, secret)))
	uiWantStatus(t, p, http.StatusBadRequest)
	uiWantContains(t, p, "Invalid code")
	uiWantRedirect(t, s.getStay(t, "/admin"), "/login?next=%2Fadmin")
	// The next step's code (the current one confirmed the enrollment).
	next := totpCode(t, secret, auth.TOTPPeriod)
	p = s.post(t, "/login/2fa", uiForm("code", next[:3]+" "+next[3:]))
	if p.Path != "/" {
		t.Fatalf("signing in with a code ended at %s (%d):\n%s", p.Path, p.Status, p.Body)
	}
	uiWantFlashes(t, p, uiFlashLoggedIn)
	uiWantStatus(t, s.get(t, "/admin"), http.StatusOK)

	// The same code again, from another browser with the password: refused.
	other := totpPassword(t, base, adminName, nodetest.AdminPassword)
	p = other.post(t, "/login/2fa", uiForm("code", next))
	uiWantStatus(t, p, http.StatusBadRequest)
	uiWantContains(t, p, "used already")
	uiWantRedirect(t, other.getStay(t, "/admin"), "/login?next=%2Fadmin")

	// A recovery code works once, however it is typed.
	rec := totpPassword(t, base, adminName, nodetest.AdminPassword)
	p = rec.post(t, "/login/2fa", uiForm("code", strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))))
	if p.Path != "/" {
		t.Fatalf("signing in with a recovery code ended at %s (%d):\n%s", p.Path, p.Status, p.Body)
	}
	uiWantContains(t, p, "9 left")
	again := totpPassword(t, base, adminName, nodetest.AdminPassword)
	p = again.post(t, "/login/2fa", uiForm("code", codes[3]))
	uiWantStatus(t, p, http.StatusBadRequest)
	uiWantContains(t, p, "Invalid code")
	if got, _ := totpStored(t, n, adminName); len(got.RecoveryHashes) != 9 {
		t.Errorf("%d recovery codes left, want 9", len(got.RecoveryHashes))
	}

	// Sign-in asked for by an admin page returns there after the second step.
	back := uiClient(t, base)
	uiWantRedirect(t, back.postStay(t, "/login", uiForm("username", adminName, "password", nodetest.AdminPassword, "next", "/admin/users")),
		"/login/2fa?next=%2Fadmin%2Fusers")
	p = back.get(t, "/login/2fa?next=%2Fadmin%2Fusers")
	uiWantContains(t, p, `name="next" value="/admin/users"`)
	uiWantRedirect(t, back.postStay(t, "/login/2fa", uiForm("code", codes[5], "next", "/admin/users")), "/admin/users")

	// Without the password first, the code page sends to the login.
	uiWantRedirect(t, uiClient(t, base).getStay(t, "/login/2fa"), "/login")
	uiWantRedirect(t, uiClient(t, base).postStay(t, "/login/2fa", uiForm("code", totpCode(t, secret, 0))), "/login")

	// Neither the secret, nor a code, nor a recovery code is ever logged.
	out := logs.String()
	for _, s := range append([]string{secret, next}, codes...) {
		if strings.Contains(out, s) || strings.Contains(out, strings.ToUpper(strings.ReplaceAll(s, "-", ""))) {
			t.Errorf("the log holds %q", s)
		}
	}
	if !strings.Contains(out, "second factor enrolled") || !strings.Contains(out, "failed second factor") {
		t.Errorf("the log does not tell of the enrollment and the failures")
	}
}

// TestAdmin2FALimited: wrong codes are limited like admin passwords, and
// while the budget is spent even the right code waits.
func TestAdmin2FALimited(t *testing.T) {
	t.Parallel()
	_, base := nodetest.StartDefault(t, web)
	secret, _ := totpEnroll(t, adminSession(t, base))
	s := totpPassword(t, base, adminName, nodetest.AdminPassword)
	wrong := totpWrongCode(t, secret)
	for i := range 5 {
		if p := s.post(t, "/login/2fa", uiForm("code", wrong)); p.Status != http.StatusBadRequest {
			t.Fatalf("wrong code %d: %d, want 400", i+1, p.Status)
		}
	}
	p := s.postStay(t, "/login/2fa", uiForm("code", totpCode(t, secret, auth.TOTPPeriod)))
	uiWantStatus(t, p, http.StatusTooManyRequests)
	uiWantContains(t, p, "Too many wrong codes")
	uiWantRedirect(t, s.getStay(t, "/admin"), "/login?next=%2Fadmin")
}

// TestAdminRequire2FA: with admin.require_2fa an admin without a second
// factor reaches only the enrollment page (and /metrics not at all) until
// enrolled; ordinary users are not asked.
func TestAdminRequire2FA(t *testing.T) {
	t.Parallel()
	cfg := nodetest.Config(t.TempDir())
	cfg.Admin.Require2FA = true
	n := nodetest.Start(t, web, cfg)
	base := "http://" + n.HTTPAddr()
	user := uiSignup(t, base, "plainuser") // signs in with the password alone
	uiWantStatus(t, user.getStay(t, "/admin"), http.StatusForbidden)

	admin := adminSession(t, base)
	for _, path := range []string{"/admin", "/admin/users", "/admin/logs", "/admin/backup"} {
		uiWantRedirect(t, admin.getStay(t, path), "/admin/2fa")
	}
	uiWantRedirect(t, admin.postStay(t, "/admin/users/plainuser/admin", uiForm("admin", "1")), "/admin/2fa")
	if u, _ := uiUser(t, n, "plainuser"); u.Admin {
		t.Error("an admin without the required second factor made a user an admin")
	}
	uiWantStatus(t, admin.getStay(t, "/metrics"), http.StatusForbidden)
	p := admin.get(t, "/admin")
	if p.Path != "/admin/2fa" {
		t.Fatalf("GET /admin ended at %s", p.Path)
	}
	uiWantContains(t, p, "requires two-factor sign-in", "Set up two-factor sign-in before using the admin pages")

	secret, _ := totpEnroll(t, admin)
	uiWantStatus(t, admin.get(t, "/admin"), http.StatusOK)
	uiWantStatus(t, admin.getStay(t, "/metrics"), http.StatusOK)

	// And the next sign-in asks for a code.
	s := totpPassword(t, base, adminName, nodetest.AdminPassword)
	if p := s.post(t, "/login/2fa", uiForm("code", totpCode(t, secret, auth.TOTPPeriod))); p.Path != "/" {
		t.Fatalf("code sign-in ended at %s (%d)", p.Path, p.Status)
	}
	uiWantStatus(t, s.get(t, "/admin"), http.StatusOK)
}

// TestAdmin2FAResetBetweenSteps: a second factor removed between the
// password and the code (reset-2fa) sends the browser to sign in again,
// where the password alone is enough.
func TestAdmin2FAResetBetweenSteps(t *testing.T) {
	t.Parallel()
	n, base := nodetest.StartDefault(t, web)
	secret, _ := totpEnroll(t, adminSession(t, base))
	s := totpPassword(t, base, adminName, nodetest.AdminPassword)
	res, err := n.Propose(context.Background(), &raftfsm.TOTPReset{User: adminName})
	if err != nil || res.Err != nil || res.ID != 1 {
		t.Fatalf("reset: %+v %v", res, err)
	}
	uiWantRedirect(t, s.postStay(t, "/login/2fa", uiForm("code", totpCode(t, secret, auth.TOTPPeriod))), "/login")
	uiLogin(t, uiClient(t, base), adminName, nodetest.AdminPassword)
}

// TestAdmin2FAAcrossCluster: a second factor enrolled on one node asks for
// a code on every node, and a code used on one node is refused on another
// (the accepted step is replicated state).
func TestAdmin2FAAcrossCluster(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartClusterWith(t, web, 3, nil)
	base := func(i int) string { return "http://" + nodes[i].HTTPAddr() }
	secret, _ := totpEnroll(t, adminSession(t, base(0)))
	next := totpCode(t, secret, auth.TOTPPeriod)

	s := totpPassword(t, base(1), adminName, nodetest.AdminPassword)
	if p := s.post(t, "/login/2fa", uiForm("code", next)); p.Path != "/" {
		t.Fatalf("code sign-in on %s ended at %s (%d):\n%s", nodes[1].ID(), p.Path, p.Status, p.Body)
	}
	uiWantStatus(t, s.get(t, "/admin"), http.StatusOK)

	other := totpPassword(t, base(2), adminName, nodetest.AdminPassword)
	p := other.post(t, "/login/2fa", uiForm("code", next))
	uiWantStatus(t, p, http.StatusBadRequest)
	uiWantContains(t, p, "used already")
	uiWantRedirect(t, other.getStay(t, "/admin"), "/login?next=%2Fadmin")
}
