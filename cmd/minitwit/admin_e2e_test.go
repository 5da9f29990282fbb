//go:build e2e

package main

// End-to-end tests of admin accounts: the first admin a new cluster creates,
// whose one-time password is printed once to the log, and `minitwit admin`,
// both offline on a stopped node's data dir and through a running cluster.
// They sign in over HTTP as a browser does, so they check what an operator
// actually gets: where each answer sends them, not what the store holds.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"minitwit/httpui/auth"
	"minitwit/ops/testwait"
)

// admBrowser is one browser: its own cookie jar, and redirects are not
// followed, so the test sees where each answer sends the user. Every node
// listens on 127.0.0.1 and cookies do not depend on the port, so a session
// cookie one node set is sent to every node, as it is behind a load
// balancer.
type admBrowser struct {
	t  *testing.T
	hc *http.Client
}

func newAdmBrowser(t *testing.T) *admBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &admBrowser{t: t, hc: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// admPage is one answer: its status, its redirect target and its body.
type admPage struct {
	status   int
	location string
	body     string
}

// do sends a request; a non-nil form is sent urlencoded.
func (b *admBrowser) do(method, target string, form url.Values) admPage {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	return admPage{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(text)}
}

func (b *admBrowser) get(target string) admPage { return b.do(http.MethodGet, target, nil) }

// signIn posts the login form and returns where a successful sign-in sends
// the user; anything but a redirect fails the test.
func (b *admBrowser) signIn(base, user, password string) string {
	b.t.Helper()
	p := b.do(http.MethodPost, base+"/login", url.Values{"username": {user}, "password": {password}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("signing in as %s on %s: %d, want 303\n%s", user, base, p.status, p.body)
	}
	return p.location
}

// changePassword posts the password form.
func (b *admBrowser) changePassword(base, current, next string) admPage {
	b.t.Helper()
	return b.do(http.MethodPost, base+"/login/password", url.Values{"current": {current}, "password": {next}, "password2": {next}})
}

// wantAdminPage checks what GET /admin answers this browser: "ok" (200 with
// the overview), "forbidden" (403) or the path it redirects to.
func (b *admBrowser) wantAdminPage(base, want string) {
	b.t.Helper()
	p := b.get(base + "/admin")
	var got string
	switch {
	case p.status == http.StatusOK && strings.Contains(p.body, "Overview"):
		got = "ok"
	case p.status == http.StatusForbidden:
		got = "forbidden"
	case p.status == http.StatusFound || p.status == http.StatusSeeOther:
		got = p.location
	default:
		got = http.StatusText(p.status)
	}
	if got != want {
		b.t.Errorf("GET %s/admin: %d (%s), want %s", base, p.status, got, want)
	}
}

// admOTPLine is the log line announcing the first admin (its password is
// on the console only).
type admOTPLine struct {
	Level string `json:"level"`
	User  string `json:"user"`
	Login string `json:"login"`
}

// admOTPLines parses every log line that announces a first admin with a
// one-time password; one that is not JSON fails the test, since it must be
// findable by a log query.
func admOTPLines(t *testing.T, logs string) []admOTPLine {
	t.Helper()
	var out []admOTPLine
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, "created the first admin with a one-time password") {
			continue
		}
		var l admOTPLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("the one-time password line is not JSON (%v): %s", err, line)
		}
		out = append(out, l)
	}
	return out
}

// admStop stops a server with SIGTERM and waits for a clean exit, which
// also flushes its buffered log.
func admStop(t *testing.T, s *server) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.wait(t); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; want status 0\n%s", err, s.logs)
	}
}

// admWaitLog waits until the server's log holds text; the log is
// buffered for up to a second.
func admWaitLog(t *testing.T, s *server, text string) {
	t.Helper()
	testwait.UntilNil(t, fmt.Sprintf("%q in the log", text), func() error {
		if logs := s.logs.String(); !strings.Contains(logs, text) {
			return fmt.Errorf("the log so far:\n%s", logs)
		}
		return nil
	})
}

// admRunBinary runs the built binary with stdin as its standard input:
// --password-stdin reads os.Stdin, which runTool, running in this process,
// cannot set.
func admRunBinary(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	case err != nil:
		t.Fatalf("running minitwit %v: %v", args, err)
	}
	return 0, string(out)
}

var admOTPOutput = regexp.MustCompile(`one-time password: (\S+)`)

// admOneTimePassword returns the password `minitwit admin` printed.
func admOneTimePassword(t *testing.T, out string) string {
	t.Helper()
	m := admOTPOutput.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no one-time password in the output:\n%s", out)
	}
	return m[1]
}

// TestAdminFirstStartOneTimePassword: a new node without admin.password
// creates the first admin, prints its one-time password once on the
// console (never in a log line, the admin page's log view or its
// download) and announces it in exactly one JSON log line at WARN, with
// the login URL. That password signs in only to
// the password page, the admin page sends the admin there until the
// password is changed, and after a restart no second password is printed.
func TestAdminFirstStartOneTimePassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Set empty, not left out: a MINITWIT_ADMIN_PASSWORD in the
	// environment running the tests must not skip the path under test.
	s := startServer(t, dir, "MINITWIT_ADMIN_PASSWORD=")

	// The admin is created once the node leads, which may be after /readyz
	// first answers 200, and the log is buffered for up to a second.
	var lines []admOTPLine
	testwait.UntilNil(t, "a one_time_password line in the log", func() error {
		logs := s.logs.String()
		if lines = admOTPLines(t, logs); len(lines) == 0 {
			return fmt.Errorf("the log so far:\n%s", logs)
		}
		return nil
	})
	first := struct {
		admOTPLine
		Password string
	}{admOTPLine: lines[0], Password: admOneTimePassword(t, s.logs.String())}
	if first.Level != "WARN" || first.User != "operator" || first.Login != s.base+"/login" || len(first.Password) < auth.MinPasswordLen {
		t.Fatalf("first-admin line %+v; want level WARN, user operator, login %s/login and a password of %d+ characters",
			first, s.base, auth.MinPasswordLen)
	}

	b := newAdmBrowser(t)
	b.wantAdminPage(s.base, "/login?next=%2Fadmin") // anonymous, sent back here after signing in
	if to := b.signIn(s.base, first.User, first.Password); to != "/login/password" {
		t.Fatalf("signing in with the one-time password leads to %q, want /login/password", to)
	}
	if p := b.get(s.base + "/login/password"); p.status != http.StatusOK || !strings.Contains(p.body, "one-time password") {
		t.Errorf("the password page: %d, without the one-time password notice\n%s", p.status, p.body)
	}
	b.wantAdminPage(s.base, "/login/password")
	// A refused change leaves the admin pages closed.
	if p := b.changePassword(s.base, first.Password, "short"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "at least 10 characters") {
		t.Errorf("a 5-character new password: %d\n%s", p.status, p.body)
	}
	b.wantAdminPage(s.base, "/login/password")
	const chosen = "operator's own password"
	if p := b.changePassword(s.base, first.Password, chosen); p.status != http.StatusSeeOther || p.location != "/admin" {
		t.Fatalf("changing the password: %d to %q, want 303 to /admin\n%s", p.status, p.location, p.body)
	}
	b.wantAdminPage(s.base, "ok")
	// The admin page's log view and download never held it.
	if p := b.get(s.base + "/admin/logs/download"); p.status != http.StatusOK || strings.Contains(p.body, first.Password) {
		t.Errorf("the admin log download (%d) holds the one-time password", p.status)
	}

	// The one-time password was for one sign-in; the chosen one works.
	if p := newAdmBrowser(t).do(http.MethodPost, s.base+"/login", url.Values{"username": {"operator"}, "password": {first.Password}}); p.status != http.StatusBadRequest {
		t.Errorf("the used one-time password still signs in: %d to %q", p.status, p.location)
	}
	if to := newAdmBrowser(t).signIn(s.base, "operator", chosen); to != "/" {
		t.Errorf("signing in with the chosen password leads to %q, want /", to)
	}

	admStop(t, s) // flushes the log
	logs := s.logs.String()
	if n := len(admOTPLines(t, logs)); n != 1 {
		t.Errorf("%d first-admin lines, want exactly 1:\n%s", n, logs)
	}
	// The secret is on the console once and in no log line (request logs,
	// the password change, the login failure).
	if n := strings.Count(logs, first.Password); n != 1 {
		t.Errorf("the one-time password appears %d times in the output, want 1 (the console)", n)
	}
	for line := range strings.Lines(logs) {
		if strings.HasPrefix(line, "{") && strings.Contains(line, first.Password) {
			t.Errorf("a log line holds the one-time password: %s", line)
		}
	}

	// Restarted, the node finds the admin and prints nothing; the admin
	// keeps the chosen password.
	s2 := startServer(t, dir, "MINITWIT_ADMIN_PASSWORD=")
	b2 := newAdmBrowser(t)
	if to := b2.signIn(s2.base, "operator", chosen); to != "/" {
		t.Errorf("after the restart, signing in leads to %q, want /", to)
	}
	b2.wantAdminPage(s2.base, "ok")
	admStop(t, s2)
	if lines := admOTPLines(t, s2.logs.String()); len(lines) != 0 {
		t.Errorf("the restart printed %d one-time password lines, want none: %+v", len(lines), lines)
	}
}

// TestAdminCommandOffline: `minitwit admin` on a stopped node's data dir
// starts the node itself for the change; the changes are there when the
// node serves again. Refusals name the problem and exit 1 (the state
// refuses) or 2 (the command line is wrong).
func TestAdminCommandOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const operatorPassword = "operator-password-from-env"
	s := startServer(t, dir, "MINITWIT_ADMIN_PASSWORD="+operatorPassword)
	// Ready is not the same as initialised: the leader creates the first
	// admin right after it starts serving.
	admWaitLog(t, s, "created the first admin with the configured admin.password")
	admStop(t, s)

	// Free ports: the node the tool starts listens like serve does, and
	// the defaults (8080, 8081) may be taken on the machine running this.
	conf := filepath.Join(t.TempDir(), "admin.toml")
	if err := os.WriteFile(conf, []byte(`data_dir = "`+dir+`"
http_addr = "127.0.0.1:0"
raft_addr = "127.0.0.1:0"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := func(args ...string) (int, string) {
		return runTool(append(append([]string{"admin"}, args...), "--config", conf)...)
	}

	code, out := admin("create", "boss", "--email", "b@x")
	if code != 0 || !strings.Contains(out, "created admin boss") {
		t.Fatalf("admin create boss: %d\n%s", code, out)
	}
	bossOTP := admOneTimePassword(t, out)

	cases := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"create", "operator"}, 1, `a user called "operator" exists`},
		{[]string{"create", "admin"}, 2, "name of a page"},
		{[]string{"reset-password", "nobody"}, 1, `there is no user called "nobody"`},
		{[]string{"frobnicate", "boss"}, 2, `unknown action "frobnicate"`},
		{[]string{"create"}, 2, "run 'minitwit admin --help'"},
		// Both admins exist: revoking one is fine, the other is then the
		// last and stays. Granting back leaves two again.
		{[]string{"revoke", "operator"}, 0, "operator is no longer an admin"},
		{[]string{"revoke", "boss"}, 1, `"boss" is the last admin`},
		{[]string{"grant", "operator"}, 0, "operator is now an admin"},
	}
	for _, c := range cases {
		if code, out := admin(c.args...); code != c.code || !strings.Contains(out, c.contains) {
			t.Errorf("admin %v: exit %d, output %q; want exit %d containing %q", c.args, code, out, c.code, c.contains)
		}
	}

	// --password-stdin: a short password is refused before anything
	// changes; an accepted one is final, not one-time.
	if code, out := admRunBinary(t, "short\n", "admin", "reset-password", "operator", "--password-stdin", "--config", conf); code != 2 || !strings.Contains(out, "at least 10 characters") {
		t.Errorf("reset-password with a short password: exit %d\n%s", code, out)
	}
	const operatorNew = "operator-password-from-stdin"
	code, out = admRunBinary(t, operatorNew+"\n", "admin", "reset-password", "operator", "--password-stdin", "--config", conf)
	if code != 0 || !strings.Contains(out, "password of operator replaced") || strings.Contains(out, "one-time password") {
		t.Errorf("reset-password --password-stdin: exit %d\n%s", code, out)
	}

	s2 := startServer(t, dir, "MINITWIT_ADMIN_PASSWORD="+operatorPassword)
	boss := newAdmBrowser(t)
	if to := boss.signIn(s2.base, "boss", bossOTP); to != "/login/password" {
		t.Fatalf("boss signing in with the one-time password leads to %q, want /login/password", to)
	}
	boss.wantAdminPage(s2.base, "/login/password")
	if p := boss.changePassword(s2.base, bossOTP, "boss's own password"); p.status != http.StatusSeeOther {
		t.Fatalf("boss changing the password: %d\n%s", p.status, p.body)
	}
	boss.wantAdminPage(s2.base, "ok")

	// The operator, revoked and granted again, is an admin with the
	// password from stdin; the configured one no longer signs in.
	if p := newAdmBrowser(t).do(http.MethodPost, s2.base+"/login", url.Values{"username": {"operator"}, "password": {operatorPassword}}); p.status != http.StatusBadRequest {
		t.Errorf("the replaced password still signs in: %d to %q", p.status, p.location)
	}
	op := newAdmBrowser(t)
	if to := op.signIn(s2.base, "operator", operatorNew); to != "/" {
		t.Errorf("operator signing in with the password from stdin leads to %q, want /", to)
	}
	op.wantAdminPage(s2.base, "ok")
}

// TestAdminCommandAgainstRunningCluster: while the cluster runs, `minitwit
// admin` goes through a member with the node certificate. The admin it
// creates signs in on every node, and a session from one node opens the
// admin page on the others (one session key cluster-wide); grant and
// revoke take effect on every node for a session already open; a reset
// sends even an open session to the password page.
func TestAdminCommandAgainstRunningCluster(t *testing.T) {
	t.Parallel()
	nodes := clStartCluster(t)
	local := []string{"--data-dir", nodes[1].dataDir, "--addr", nodes[1].raftAddr}
	admin := func(args ...string) (int, string) {
		return runTool(append(append([]string{"admin"}, args...), local...)...)
	}

	const chiefPassword = "chief-password-from-stdin"
	code, out := admRunBinary(t, chiefPassword+"\n", append([]string{"admin", "create", "chief", "--email", "c@x", "--password-stdin"}, local...)...)
	if code != 0 || !strings.Contains(out, "created admin chief") || strings.Contains(out, "one-time password") {
		t.Fatalf("admin create chief through the running cluster: %d\n%s", code, out)
	}
	var chief *admBrowser
	for i, n := range nodes {
		b := newAdmBrowser(t)
		if to := b.signIn(n.base(), "chief", chiefPassword); to != "/" {
			t.Errorf("chief signing in on %s leads to %q, want /", n.name, to)
		}
		b.wantAdminPage(nodes[(i+1)%len(nodes)].base(), "ok")
		chief = b
	}
	// A refusal crosses the internode RPC and still names the problem.
	if code, out := admin("create", "chief"); code != 1 || !strings.Contains(out, `a user called "chief" exists`) {
		t.Errorf("admin create chief again: exit %d\n%s", code, out)
	}

	if s, err := post(nodes[0].base(), "/register", map[string]string{"username": "pat", "email": "p@x", "pwd": "pat's password"}); err != nil || s != http.StatusNoContent {
		t.Fatalf("registering pat: %d %v", s, err)
	}
	pat := newAdmBrowser(t)
	if to := pat.signIn(nodes[2].base(), "pat", "pat's password"); to != "/" {
		t.Fatalf("pat signing in leads to %q, want /", to)
	}
	pat.wantAdminPage(nodes[2].base(), "forbidden")
	if code, out := admin("grant", "pat"); code != 0 || !strings.Contains(out, "pat is now an admin") {
		t.Fatalf("admin grant pat: %d\n%s", code, out)
	}
	for _, n := range nodes {
		pat.wantAdminPage(n.base(), "ok")
	}
	// Through another member than the node whose certificate is used.
	code, out = runTool("admin", "revoke", "pat", "--data-dir", nodes[1].dataDir, "--addr", nodes[2].raftAddr)
	if code != 0 || !strings.Contains(out, "pat is no longer an admin") {
		t.Fatalf("admin revoke pat: %d\n%s", code, out)
	}
	for _, n := range nodes {
		pat.wantAdminPage(n.base(), "forbidden")
	}

	// A reset without --password-stdin prints a one-time password: the old
	// password stops working, and the session chief already has ends (a
	// reset locks out whoever held the account), while a fresh sign-in with
	// the one-time password leads to the password page.
	code, out = admin("reset-password", "chief")
	if code != 0 || !strings.Contains(out, "password of chief replaced") {
		t.Fatalf("admin reset-password chief: %d\n%s", code, out)
	}
	otp := admOneTimePassword(t, out)
	if p := newAdmBrowser(t).do(http.MethodPost, nodes[0].base()+"/login", url.Values{"username": {"chief"}, "password": {chiefPassword}}); p.status != http.StatusBadRequest {
		t.Errorf("chief's replaced password still signs in: %d to %q", p.status, p.location)
	}
	if to := newAdmBrowser(t).signIn(nodes[1].base(), "chief", otp); to != "/login/password" {
		t.Errorf("chief signing in with the one-time password leads to %q, want /login/password", to)
	}
	chief.wantAdminPage(nodes[0].base(), "/login?next=%2Fadmin")
}

// TestAdminCommandOnNewDataDirCarriesNoIdentity: `minitwit admin create` on
// a data dir that was never served writes the admin into the data file and
// nothing else (no node id, no Raft state, nothing listening), so the first
// serve starts it under any node id and addresses, and the admin signs in.
func TestAdminCommandOnNewDataDirCarriesNoIdentity(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new")
	conf := filepath.Join(t.TempDir(), "admin.toml")
	// The default node id and addresses on purpose: none of them may end
	// up in the dir.
	if err := os.WriteFile(conf, []byte(`data_dir = "`+dir+`"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := runTool("admin", "create", "boss", "--email", "b@x", "--config", conf)
	if code != 0 || !strings.Contains(out, "created admin boss") {
		t.Fatalf("admin create boss on a new data dir: %d\n%s", code, out)
	}
	bossOTP := admOneTimePassword(t, out)
	for _, name := range []string{"node-id", "raft"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("admin create left %s in the new data dir (%v)", name, err)
		}
	}
	if code, out := runTool("admin", "create", "boss", "--config", conf); code != 1 || !strings.Contains(out, `a user called "boss" exists`) {
		t.Errorf("a second create of boss: exit %d\n%s", code, out)
	}

	s := startServer(t, dir) // node id "e2e", free addresses
	boss := newAdmBrowser(t)
	if to := boss.signIn(s.base, "boss", bossOTP); to != "/login/password" {
		t.Fatalf("boss signing in with the one-time password leads to %q, want /login/password", to)
	}
	if id, err := os.ReadFile(filepath.Join(dir, "node-id")); err != nil || strings.TrimSpace(string(id)) != "e2e" {
		t.Errorf("node id after the first serve: %q, %v; want e2e", id, err)
	}
}
