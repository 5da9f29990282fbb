package httpui_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"minitwit/httpui/auth"
	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

// The admin page: who may see it, what it shows, and that what it changes
// goes through the state machine to every timeline and the API. Its own
// flows run over httpuitest's node; what only a node knows (the overview
// of Raft, its metrics, charts of sampled figures, backups, a shutdown
// with a tail open) over real nodes.

const adminName = "operator" // nodetest's first admin

// adminSession is a browser-like session of the first admin, signed in.
func adminSession(t *testing.T, base string) *uiSession {
	t.Helper()
	s := uiClient(t, base)
	uiLogin(t, s, adminName, nodetest.AdminPassword)
	return s
}

func TestAdminPagesRefuseNonAdmins(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	anon := uiClient(t, base)
	user := uiSignup(t, base, "plainuser")
	pages := []string{"/admin", "/admin/", "/admin/charts", "/admin/logs", "/admin/logs/download",
		"/admin/logs/stream", "/admin/messages", "/admin/users", "/admin/backup"}
	for _, p := range pages {
		// Signing in leads back to the page asked for (its path cleaned).
		uiWantRedirect(t, anon.getStay(t, p), "/login?next="+url.QueryEscape(strings.TrimSuffix(p, "/")))
		page := user.getStay(t, p)
		uiWantStatus(t, page, http.StatusForbidden)
		uiWantContains(t, page, "for admins only")
	}
	uiPostMessage(t, user, "a message nobody may flag")
	id := uiUserMessages(t, n, "plainuser")[0].ID
	for _, p := range []string{fmt.Sprintf("/admin/messages/%d/flag", id), "/admin/users/plainuser/admin"} {
		uiWantRedirect(t, anon.postStay(t, p, uiForm("admin", "1")), "/login")
		uiWantStatus(t, user.postStay(t, p, uiForm("admin", "1")), http.StatusForbidden)
	}
	// Refused, so nothing changed.
	if u, _ := uiUser(t, n, "plainuser"); u.Admin {
		t.Error("a non-admin made themselves an admin")
	}
	if m := uiUserMessages(t, n, "plainuser"); len(m) != 1 || m[0].Flagged {
		t.Errorf("a non-admin flagged a message: %+v", m)
	}
}

func TestAdminOverview(t *testing.T) {
	t.Parallel()
	n, base := nodetest.StartDefault(t, web)
	admin := adminSession(t, base)
	// A simulator action, so the graders' view has an id to show.
	a := &apiNode{host: n.HTTPAddr(), store: n.Store()}
	if r := a.do(t, "POST", "/api/register?latest=4711", `{"username":"simuser","email":"s@x","pwd":"p"}`, apiAuth, nil); r.status != http.StatusNoContent {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	p := admin.get(t, "/admin")
	uiWantStatus(t, p, http.StatusOK)
	uiWantContains(t, p, "<h2>Overview</h2>", `data-node="`+n.ID()+`"`, "leader", ">4711<",
		"Latest simulator action id", "Public timeline", "No scheduled backups are configured",
		"default password", "Take a backup now", n.HTTPAddr(), "Reveal join token")
	// The join token admits a member, which holds every secret: it is in
	// no page until an admin asks for it (TestAdminRevealJoinToken).
	var token string
	uiView(t, n, func(tx *store.ReadTx) error { token = string(tx.Secrets().JoinToken); return nil })
	if token == "" || strings.Contains(p.Body, token) {
		t.Errorf("the overview's source holds the join token (or there is none: %q)", token)
	}
	if got := regexp.MustCompile(`<strong id="leader">([^<]*)</strong>`).FindStringSubmatch(p.Body); got == nil || got[1] != n.ID() {
		t.Errorf("leader shown as %v, want %s", got, n.ID())
	}
	if !strings.Contains(p.Body, "Users</th><td>2<") { // the admin and simuser
		t.Errorf("the overview does not count 2 users:\n%s", p.Body)
	}
	// A single node: its fault tolerance in words; no message yet is no
	// alarm (a fresh cluster is not stale).
	uiWantContains(t, p, `<p id="faulttolerance">Fault tolerance: <span class="good">1 voter, quorum 1: a single node survives no node failure (three voters survive one).</span></p>`,
		"<td>no messages yet</td>", "any answer but 204, and for a register any answer but 204 or 400")
	uiWantLacks(t, p, "stale", "Raft timing")
}

// TestAdminRevealJoinToken: the overview carries a "Reveal join token"
// button, not the token; an admin's same-site POST answers with the token
// once and logs who saw it; a later overview hides it again; a
// cross-site POST, a plain user and a visitor get nothing.
func TestAdminRevealJoinToken(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	var token string
	uiView(t, n, func(tx *store.ReadTx) error { token = string(tx.Secrets().JoinToken); return nil })
	if token == "" {
		t.Fatal("the node has no join token")
	}
	admin := adminSession(t, base)
	p := admin.get(t, "/admin")
	uiWantContains(t, p, `action="/admin/join-token"`, "Reveal join token")
	uiWantLacks(t, p, token)

	for _, who := range []*uiSession{uiClient(t, base), uiSignup(t, base, "nosy")} {
		if p := who.postStay(t, "/admin/join-token", uiForm()); p.Status == http.StatusOK || strings.Contains(p.Body, token) {
			t.Errorf("a non-admin's reveal answered %d (token shown: %v)", p.Status, strings.Contains(p.Body, token))
		}
	}
	cross := admin.do(t, admin.stay, http.MethodPost, "/admin/join-token", uiForm(), map[string]string{"Sec-Fetch-Site": "cross-site"})
	uiWantStatus(t, cross, http.StatusForbidden)
	uiWantLacks(t, cross, token)
	for _, l := range n.LogRing().Lines(0) {
		if strings.Contains(l, "join token revealed") {
			t.Fatalf("a refused reveal was logged as one: %s", l)
		}
	}

	p = admin.postStay(t, "/admin/join-token", uiForm())
	uiWantStatus(t, p, http.StatusOK)
	uiWantContains(t, p, `<p id="jointoken">`, token, "<h2>Overview</h2>")
	revealed := 0
	for _, l := range n.LogRing().Lines(0) {
		if strings.Contains(l, `"msg":"join token revealed"`) && strings.Contains(l, `"user":"`+adminName+`"`) {
			revealed++
		}
		if strings.Contains(l, token) {
			t.Errorf("a log line holds the token: %s", l)
		}
	}
	if revealed != 1 {
		t.Errorf("%d log lines say the admin revealed the token, want 1", revealed)
	}
	uiWantLacks(t, admin.get(t, "/admin"), token) // shown once: the next overview hides it
}

func TestAdminMetricsBySession(t *testing.T) {
	t.Parallel()
	_, base := nodetest.StartDefault(t, web) // no metrics.token: only sessions
	anon := uiClient(t, base)
	uiWantStatus(t, anon.getStay(t, "/metrics"), http.StatusForbidden)
	user := uiSignup(t, base, "curious")
	uiWantStatus(t, user.getStay(t, "/metrics"), http.StatusForbidden)
	p := adminSession(t, base).getStay(t, "/metrics")
	uiWantStatus(t, p, http.StatusOK)
	uiWantContains(t, p, "minitwit_http_responses_total", "minitwit_raft_state", "go_goroutines")
}

func TestAdminFlagChangesEveryView(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	admin := adminSession(t, base)
	author := uiSignup(t, base, "loud")
	uiPostMessage(t, author, "keep this one")
	uiPostMessage(t, author, "hide this one")
	msgs := uiUserMessages(t, n, "loud")
	var hide uint64
	for _, m := range msgs {
		if m.Text == "hide this one" {
			hide = m.ID
		}
	}
	a := &apiNode{host: n.HTTPAddr(), store: n.Store()}
	visible := func(want bool) {
		t.Helper()
		for _, path := range []string{"/public", "/loud"} {
			if got := strings.Contains(author.get(t, path).Body, "hide this one"); got != want {
				t.Errorf("%s shows the message: %v, want %v", path, got, want)
			}
		}
		if got := strings.Contains(author.get(t, "/").Body, "hide this one"); got != want {
			t.Errorf("the author's own timeline shows the message: %v, want %v", got, want)
		}
		for _, path := range []string{"/api/msgs", "/api/msgs/loud"} {
			r := a.do(t, "GET", path+"?no=100", "", apiAuth, nil)
			if got := strings.Contains(string(r.body), "hide this one"); got != want {
				t.Errorf("%s lists the message: %v, want %v", path, got, want)
			}
			if !strings.Contains(string(r.body), "keep this one") {
				t.Errorf("%s lost the other message", path)
			}
		}
	}
	visible(true)

	// Find it on the moderation page, by author and by text.
	page := admin.get(t, "/admin/messages?user=loud")
	uiWantContains(t, page, "keep this one", "hide this one")
	page = admin.get(t, "/admin/messages?q=HIDE")
	uiWantContains(t, page, "hide this one")
	uiWantLacks(t, page, "keep this one")
	uiWantContains(t, admin.get(t, "/admin/messages?user=nobody-at-all"), "There is no user called")

	back := "/admin/messages?q=HIDE"
	p := admin.post(t, fmt.Sprintf("/admin/messages/%d/flag", hide), uiForm("back", back))
	if p.Path != back {
		t.Errorf("flagging ended at %s, want %s", p.Path, back)
	}
	uiWantFlashes(t, p, fmt.Sprintf("Message %d flagged.", hide))
	uiWantContains(t, p, "Unflag")
	visible(false)
	if c := uiCounts(t, n); c.Flagged != 1 {
		t.Errorf("flagged count %d, want 1", c.Flagged)
	}

	p = admin.post(t, fmt.Sprintf("/admin/messages/%d/unflag", hide), uiForm("back", "https://evil.example/"))
	if p.Path != "/admin/messages" {
		t.Errorf("unflagging with a foreign back link ended at %s, want /admin/messages", p.Path)
	}
	visible(true)

	// Bad input changes nothing.
	uiWantStatus(t, admin.postStay(t, "/admin/messages/999999/flag", nil), http.StatusNotFound)
	uiWantStatus(t, admin.postStay(t, "/admin/messages/x/flag", nil), http.StatusBadRequest)
	if c := uiCounts(t, n); c.Flagged != 0 {
		t.Errorf("flagged count %d after bad requests, want 0", c.Flagged)
	}
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	admin := adminSession(t, base)
	other := uiSignup(t, base, "helper")
	uiSignup(t, base, "helpless")

	p := admin.get(t, "/admin/users?q=help")
	uiWantContains(t, p, `data-user="helper"`, `data-user="helpless"`, "Make admin",
		`<p id="summary">3 users, 1 admin, 0 messages, 0 follows.</p>`)
	uiWantLacks(t, p, `data-user="operator"`)
	uiWantStatus(t, other.getStay(t, "/admin"), http.StatusForbidden)

	p = admin.post(t, "/admin/users/helper/admin", uiForm("admin", "1", "back", "/admin/users?q=help"))
	uiWantFlashes(t, p, "helper is now an admin.")
	uiWantStatus(t, other.getStay(t, "/admin"), http.StatusOK) // the same session, now an admin
	if c := uiCounts(t, n); c.Admins != 2 {
		t.Errorf("admins %d, want 2", c.Admins)
	}

	// Revoke both: the second revoke would leave no admin, and is refused.
	uiWantFlashes(t, admin.post(t, "/admin/users/helper/admin", uiForm("admin", "0")), "helper is no longer an admin.")
	p = admin.post(t, "/admin/users/operator/admin", uiForm("admin", "0"))
	uiWantFlashes(t, p, "The last admin cannot be revoked: make another user an admin first.")
	if u, _ := uiUser(t, n, adminName); !u.Admin {
		t.Error("the last admin was revoked")
	}
	uiWantStatus(t, admin.postStay(t, "/admin/users/ghost/admin", uiForm("admin", "1")), http.StatusNotFound)
}

func TestAdminOneTimePassword(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	const oneTime = "one-time-password-123"
	hash := httpuiHash(t, oneTime)
	res, err := n.Propose(context.Background(), &raftfsm.SetPassword{User: adminName, Hash: hash, Temporary: true})
	if err != nil || res.Err != nil {
		t.Fatalf("resetting the password: %v %v", err, res.Err)
	}
	s := uiClient(t, base)
	p := s.post(t, "/login", uiForm("username", adminName, "password", oneTime))
	if p.Path != "/login/password" {
		t.Fatalf("signing in with a one-time password ended at %s, want /login/password", p.Path)
	}
	uiWantContains(t, p, "one-time password")
	uiWantRedirect(t, s.getStay(t, "/admin"), "/login/password")

	for _, c := range []struct{ current, pw, pw2, want string }{
		{"wrong", "a-new-password", "a-new-password", "Invalid password"},
		{oneTime, "short", "short", "at least 10 characters"},
		{oneTime, "a-new-password", "another-password", "do not match"},
		{oneTime, oneTime, oneTime, "must differ"},
	} {
		p := s.post(t, "/login/password", uiForm("current", c.current, "password", c.pw, "password2", c.pw2))
		uiWantStatus(t, p, http.StatusBadRequest)
		uiWantContains(t, p, c.want)
	}
	p = s.post(t, "/login/password", uiForm("current", oneTime, "password", "a-new-password", "password2", "a-new-password"))
	if p.Path != "/admin" {
		t.Fatalf("changing the password ended at %s, want /admin", p.Path)
	}
	uiWantFlashes(t, p, "Your password was changed")
	if u, _ := uiUser(t, n, adminName); u.TemporaryPassword {
		t.Error("the one-time mark stayed")
	}
	fresh := uiClient(t, base)
	uiWantContains(t, fresh.post(t, "/login", uiForm("username", adminName, "password", oneTime)), "Invalid password")
	uiLogin(t, fresh, adminName, "a-new-password")
}

func TestAdminLoginRateLimit(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	s := uiClient(t, base)
	for i := range 5 {
		p := s.post(t, "/login", uiForm("username", adminName, "password", "guess-"+strconv.Itoa(i)))
		uiWantStatus(t, p, http.StatusBadRequest)
	}
	// Now even the right password waits.
	p := s.postStay(t, "/login", uiForm("username", adminName, "password", nodetest.AdminPassword))
	uiWantStatus(t, p, http.StatusTooManyRequests)
	uiWantContains(t, p, "Too many failed sign-ins")
	// Ordinary accounts are not limited (the course's tests fail logins freely).
	uiSignup(t, base, "ordinary")
	for range 8 {
		uiWantStatus(t, s.post(t, "/login", uiForm("username", "ordinary", "password", "nope")), http.StatusBadRequest)
	}
	uiLogin(t, s, "ordinary", uiPassword("ordinary"))
}

func TestAdminLogs(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	admin := adminSession(t, base)

	// The live tail: open the stream, make a request, see its line.
	marker := loginNameHash("tail-marker")
	next := adminTail(t, admin, base+"/admin/logs/stream?level=INFO&q="+marker)
	// A failed sign-in logs a short hash of the name that was tried, never
	// the name (sometimes a password typed into the wrong field).
	uiClient(t, base).post(t, "/login", uiForm("username", "tail-marker", "password", "x"))
	if line := next(); line["user_hash"] != marker || line["user"] != nil {
		t.Errorf("the text filter let through %v", line)
	}

	// The page without JavaScript: recent lines, filtered.
	p := admin.get(t, "/admin/logs?q=login+refused")
	uiWantContains(t, p, "login refused", marker)
	uiWantLacks(t, p, "tail-marker")
	p = admin.get(t, "/admin/logs?level=ERROR")
	uiWantLacks(t, p, "login refused")
	p = admin.get(t, "/admin/logs?node=no-such-node")
	uiWantContains(t, p, `There is no member called &#34;no-such-node&#34; in this cluster.`)

	// The download holds the same lines.
	d := admin.getStay(t, "/admin/logs/download")
	uiWantStatus(t, d, http.StatusOK)
	if !strings.Contains(d.Body, `"msg":"login refused"`) || !strings.Contains(d.Body, n.ID()) {
		t.Errorf("the downloaded log lacks the refused login")
	}
	if strings.Contains(d.Body, "tail-marker") {
		t.Error("the log holds the name typed at a failed sign-in")
	}
}

func TestAdminChartsAndBackup(t *testing.T) {
	t.Parallel()
	_, base := nodetest.StartDefault(t, web)
	admin := adminSession(t, base)
	for range 20 {
		admin.get(t, "/public")
	}
	// nodetest samples every few hundred ms: wait for points after the traffic.
	testwait.UntilNil(t, "the request chart to hold 2 points", func() error {
		p := admin.get(t, "/admin/charts")
		uiWantStatus(t, p, http.StatusOK)
		uiWantContains(t, p, "Requests", "req/s", "Latency", "ms", "Simulator", "Raft lag", "Memory", "MiB")
		m := regexp.MustCompile(`data-points="(\d+)"`).FindAllStringSubmatch(p.Body, -1)
		if len(m) != 7 {
			t.Fatalf("%d charts, want 7", len(m))
		}
		if pts, _ := strconv.Atoi(m[0][1]); pts < 2 {
			return fmt.Errorf("the request chart has %d points", pts)
		}
		return nil
	})
	part := admin.get(t, "/admin/charts?partial=1&hours=24")
	if !strings.HasPrefix(strings.TrimSpace(part.Body), "<svg") {
		t.Errorf("the partial charts are not bare SVG: %.80q", part.Body)
	}

	b := admin.getStay(t, "/admin/backup")
	uiWantStatus(t, b, http.StatusOK)
	if !strings.HasPrefix(b.Body, "MTWTBKUP") {
		t.Errorf("the downloaded backup does not start with the backup magic: %.16q", b.Body)
	}
	// It holds the CA key and every password hash: no cache may keep it.
	if cc := b.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the backup download's Cache-Control is %q, want no-store", cc)
	}
}

// httpuiHash hashes a password the way the node does.
func httpuiHash(t *testing.T, password string) string {
	t.Helper()
	h := auth.HashPassword(password)
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q", h)
	}
	return h
}

// TestAdminBackupStatus: with scheduled backups configured, the overview
// names the targets and shows the last good backup once the leader took it.
func TestAdminBackupStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := nodetest.Config(t.TempDir())
	cfg.Backup.Dir = dir
	cfg.Backup.Interval = config.Duration(time.Second)
	n := nodetest.Start(t, web, cfg)
	base := "http://" + n.HTTPAddr()
	admin := adminSession(t, base)
	testwait.Until(t, "a last good backup on the overview", func() bool {
		p := admin.get(t, "/admin")
		uiWantLacks(t, p, "No scheduled backups are configured")
		uiWantContains(t, p, "every 1s to "+dir)
		m := regexp.MustCompile(`Last good backup</th><td class="good">([^<]+)`).FindStringSubmatch(p.Body)
		if m != nil && (!strings.Contains(m[1], "minitwit-") || !strings.Contains(m[1], "UTC")) {
			t.Errorf("last good backup shown as %q", m[1])
		}
		return m != nil
	})
}

// adminTail opens a live tail (server-sent events) with the admin's
// session and returns a function that waits (up to testwait.Timeout in
// all) for the next line and returns it parsed.
func adminTail(t *testing.T, admin *uiSession, url string) func() map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := admin.stay.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	return func() map[string]any {
		t.Helper()
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue // comments and event separators
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(data), &line); err != nil {
				t.Fatalf("a tailed line is not JSON: %q", data)
			}
			return line
		}
		t.Fatalf("%s: no line arrived: %v", url, sc.Err())
		return nil
	}
}

// TestAdminLogStreamEndsOnShutdown: an admin's open live tail does not hold
// up a graceful shutdown.
func TestAdminLogStreamEndsOnShutdown(t *testing.T) {
	t.Parallel()
	n, base := nodetest.StartDefault(t, web)
	admin := adminSession(t, base)
	resp, err := admin.stay.Get(base + "/admin/logs/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	// A stream that held up the shutdown would hold it up for ever; the
	// deadline only has to outlast a slow machine.
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("closing the node with a log tail open: %v", err)
	}
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
	select {
	case <-ended:
	case <-time.After(testwait.Timeout):
		t.Fatal("the stream did not end with the node")
	}
}

// TestAdminSessionsEndWithThePassword: resetting a password signs out every
// session made with the old one (a thief's too); a one-time password's
// session cannot read /metrics either.
func TestAdminSessionsEndWithThePassword(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	thief := adminSession(t, base)
	uiWantStatus(t, thief.getStay(t, "/admin"), http.StatusOK)
	res, err := n.Propose(context.Background(), &raftfsm.SetPassword{User: adminName, Hash: httpuiHash(t, "reset-by-the-owner"), Temporary: true})
	if err != nil || res.Err != nil {
		t.Fatalf("reset: %v %v", err, res.Err)
	}
	uiWantRedirect(t, thief.getStay(t, "/admin"), "/login?next=%2Fadmin")
	uiWantStatus(t, thief.getStay(t, "/metrics"), http.StatusForbidden)

	owner := uiClient(t, base)
	p := owner.post(t, "/login", uiForm("username", adminName, "password", "reset-by-the-owner"))
	if p.Path != "/login/password" {
		t.Fatalf("signing in after the reset ended at %s", p.Path)
	}
	uiWantStatus(t, owner.getStay(t, "/metrics"), http.StatusForbidden) // not before choosing a password
	p = owner.post(t, "/login/password", uiForm("current", "reset-by-the-owner", "password", "owner-chose-this", "password2", "owner-chose-this"))
	if p.Path != "/admin" {
		t.Fatalf("changing the password ended at %s", p.Path)
	}
	uiWantStatus(t, owner.getStay(t, "/metrics"), http.StatusOK)
	uiWantRedirect(t, thief.getStay(t, "/admin"), "/login?next=%2Fadmin") // still out
}

// TestAdminBadInput: bad forms and parameters get 4xx and change nothing.
func TestAdminBadInput(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	admin := adminSession(t, base)
	uiSignup(t, base, "bystander")
	uiWantStatus(t, admin.postStay(t, "/admin/users/bystander/admin", uiForm("admin", "yes")), http.StatusBadRequest)
	uiWantStatus(t, admin.postStay(t, "/admin/users/bystander/admin", nil), http.StatusBadRequest)
	uiWantStatus(t, admin.postStay(t, "/admin/users/operator/admin", uiForm("admin", "")), http.StatusBadRequest)
	if c := uiCounts(t, n); c.Admins != 1 {
		t.Errorf("admins %d after bad forms, want 1", c.Admins)
	}
	if u, _ := uiUser(t, n, "bystander"); u.Admin {
		t.Error("a bad form granted admin rights")
	}
	// A back link never leads off the admin page.
	for _, back := range []string{`/admin/../\evil.example/`, "//evil.example/admin/", "/admin/..//evil.example", "https://evil.example/admin/"} {
		p := admin.postStay(t, "/admin/users/bystander/admin", uiForm("admin", "0", "back", back))
		if !strings.HasPrefix(p.Location, "/admin") || strings.HasPrefix(p.Location, "//") || strings.Contains(p.Location, `\`) {
			t.Errorf("back=%q redirects to %q", back, p.Location)
		}
	}
	// Unknown nodes: 404 where the answer is not a page.
	for _, path := range []string{"/admin/logs/stream?node=nope", "/admin/logs/download?node=nope", "/admin/charts?partial=1&node=nope"} {
		uiWantStatus(t, admin.getStay(t, path), http.StatusNotFound)
	}
	// Filters reach the live tail as typed.
	p := admin.get(t, "/admin/logs?q="+url.QueryEscape("a+b&level=DEBUG #x 50%"))
	m := regexp.MustCompile(`data-stream="([^"]+)"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatal("no live tail URL on the logs page")
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || u.Query().Get("q") != "a+b&level=DEBUG #x 50%" || u.Query().Get("level") != "" {
		t.Errorf("the live tail URL %q loses the filter (q=%q, level=%q)", m[1], u.Query().Get("q"), u.Query().Get("level"))
	}
}

// loginNameHash is what the log keeps of a name typed at a failed sign-in:
// the first 6 bytes of its SHA-256, in hex.
func loginNameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:6])
}

// TestAdminAlerts: the overview shows the in-node alerts, here scheduled
// backups that never succeed (their folder is a file), firing once the
// node has run twice the schedule and the (shortened) hold has passed,
// and the history.
func TestAdminAlerts(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := nodetest.Config(t.TempDir())
	cfg.Backup.Dir = notADir
	cfg.Backup.Interval = config.Duration(time.Second)
	cfg.Alerts.Interval = config.Duration(time.Second)
	n := nodetest.StartWith(t, cfg, node.Options{Handler: web, AlertHold: time.Second})
	admin := adminSession(t, "http://"+n.HTTPAddr())
	uiWantContains(t, admin.get(t, "/admin"), "<h3>Alerts</h3>")
	testwait.Until(t, "a firing alert on the overview", func() bool {
		p := admin.get(t, "/admin")
		return strings.Contains(p.Body, `id="alerts-firing"`)
	})
	p := admin.get(t, "/admin")
	uiWantContains(t, p, "MinitwitBackupMissing", "No successful MiniTwit backup for twice the backup interval",
		`id="alerts-history"`, "Evaluated ", "by "+n.ID(), "none (set <code>alerts.webhook_url</code>)")
	uiWantLacks(t, p, `id="alerts-none"`)
}
