package httpui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"minitwit/node/nodeinfo"
)

func TestFaultTolerance(t *testing.T) {
	t.Parallel()
	up := func(id string) nodeinfo.Info { return nodeinfo.Info{ID: id, Voter: true} }
	down := func(id string) nodeinfo.Info { return nodeinfo.Info{ID: id, Voter: true, Err: "refused"} }
	learner := nodeinfo.Info{ID: "new", Voter: false}
	for _, tc := range []struct {
		name  string
		nodes []nodeinfo.Info
		line  string
		ok    bool
	}{
		{"single node", []nodeinfo.Info{up("a")},
			"1 voter, quorum 1: a single node survives no node failure (three voters survive one).", true},
		{"three voters", []nodeinfo.Info{up("a"), up("b"), up("c")},
			"3 voters, quorum 2: survives 1 node failure.", true},
		{"a learner does not count", []nodeinfo.Info{up("a"), up("b"), up("c"), learner},
			"3 voters, quorum 2: survives 1 node failure.", true},
		{"five voters", []nodeinfo.Info{up("a"), up("b"), up("c"), up("d"), up("e")},
			"5 voters, quorum 3: survives 2 node failures.", true},
		{"two voters survive nothing", []nodeinfo.Info{up("a"), up("b")},
			"2 voters, quorum 2: survives 0 node failures.", false},
		{"three voters, one down", []nodeinfo.Info{up("a"), down("b"), up("c")},
			"3 voters, quorum 2: 1 unreachable; survives 0 node failures more.", false},
		{"five voters, one down", []nodeinfo.Info{up("a"), down("b"), up("c"), up("d"), up("e")},
			"5 voters, quorum 3: 1 unreachable; survives 1 node failure more.", true},
		{"quorum lost", []nodeinfo.Info{up("a"), down("b"), down("c")},
			"3 voters, quorum 2: 2 unreachable, so the cluster has lost its quorum and takes no writes.", false},
		{"no voters", nil, "No voters known: this node has no cluster configuration yet.", false},
	} {
		line, ok := faultTolerance(tc.nodes)
		if line != tc.line || ok != tc.ok {
			t.Errorf("%s: %q (ok %v), want %q (ok %v)", tc.name, line, ok, tc.line, tc.ok)
		}
	}
}

func TestCountNoun(t *testing.T) {
	t.Parallel()
	for n, want := range map[uint64]string{0: "0 admins", 1: "1 admin", 2: "2 admins"} {
		if got := countNoun(n, "admin", "admins"); got != want {
			t.Errorf("countNoun(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestMemberProblem: every error a member can give becomes a sentence
// about that member, with no Go error text in it.
func TestMemberProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%q: %w", "n9", nodeinfo.ErrUnknownNode), `There is no member called "n9" in this cluster.`},
		{context.DeadlineExceeded, "Node n9 did not answer in time"},
		{errors.New("127.0.0.1:7001 did not answer in time"), "Node n9 did not answer in time"},
		{errors.New(`Get "http://127.0.0.1:7001/internal/info": dial tcp 127.0.0.1:7001: connect: connection refused`), "Node n9 refuses connections"},
		{errors.New("dial tcp: lookup node9.example: no such host"), "address does not resolve"},
		{errors.New("remote error: tls: bad certificate"), "TLS handshake failed"},
		{errors.New("unexpected EOF"), "closed the connection"},
		{errors.New("something else entirely"), "Node n9 could not be asked"},
	} {
		got := memberProblem("n9", tc.err)
		if !strings.Contains(got, tc.want) || !strings.Contains(got, "n9") || !strings.HasSuffix(got, ".") {
			t.Errorf("memberProblem(%v) = %q, want a sentence about n9 saying %q", tc.err, got, tc.want)
		}
		for _, raw := range []string{"dial tcp", "tls:", "EOF", "127.0.0.1", "http://"} {
			if strings.Contains(got, raw) {
				t.Errorf("memberProblem(%v) = %q: has raw error text %q", tc.err, got, raw)
			}
		}
	}
	if memberProblem("n9", nil) != "" || memberProblemText("n9", "") != "" {
		t.Error("no error should say nothing")
	}
}

func TestBackupProblem(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		"storing b.mtb in /srv/b: open /srv/b/b.mtb: permission denied":        "cannot be written",
		"storing b.mtb in /srv/b: write /srv/b/b.mtb: no space left on device": "is full",
		"listing /srv/none: open /srv/none: no such file or directory":         "does not exist",
		"storing b.mtb in s3://bkt/p: AccessDenied: Access Denied":             "refused the credentials",
		"storing b.mtb in s3://bkt/p: NoSuchBucket":                            "bucket does not exist",
		"the backup just taken does not check out: corrupt":                    "did not check out",
		"something new": "The last scheduled backup failed.",
	} {
		if got := backupProblem(msg); !strings.Contains(got, want) || !strings.HasSuffix(got, ".") {
			t.Errorf("backupProblem(%q) = %q, want a sentence with %q", msg, got, want)
		}
	}
	if backupProblem("") != "" {
		t.Error("no failure should say nothing")
	}
}

func TestTimingWarnings(t *testing.T) {
	t.Parallel()
	lan, wan := "heartbeat 50ms, election 50ms, lease 50ms, commit 2ms", "heartbeat 1s, election 1s, lease 500ms, commit 50ms"
	ov := nodeinfo.Overview{Leader: "a", Nodes: []nodeinfo.Info{
		{ID: "a", RaftTiming: lan},
		{ID: "b", RaftTiming: wan},
		{ID: "c", RaftTiming: lan},
		{ID: "d"},                                      // an older version: says nothing
		{ID: "e", RaftTiming: wan, Err: "unreachable"}, // not asked: not judged
	}}
	got := timingWarnings(ov)
	if len(got) != 1 || !strings.HasPrefix(got[0], "Node b's Raft timing ("+wan+") differs from the leader a's ("+lan+")") ||
		!strings.Contains(got[0], "raft.profile") {
		t.Errorf("timingWarnings = %q, want one warning about b", got)
	}
	ov.Leader = ""
	if got := timingWarnings(ov); got != nil {
		t.Errorf("without a leader: %q, want none", got)
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"/admin":                     "/admin",
		"/admin/":                    "/admin",
		"/admin/charts?node=n2&h=3":  "/admin/charts?node=n2&h=3",
		"/admin/../public":           "/public",
		"/somebody":                  "/somebody",
		"/admin#top":                 "/admin",
		"":                           "",
		"admin":                      "",
		"//evil.example":             "",
		"//evil.example/admin":       "",
		"https://evil.example/admin": "",
		"http:/evil.example":         "",
		"/\\evil.example":            "",
		"\\\\evil.example":           "",
		"/%2F%2Fevil.example":        "/evil.example", // a path of this site, not a host
		"javascript:alert(1)":        "",
		"/admin\r\nSet-Cookie: x=1":  "",
		"/login":                     "",
		"/login/password":            "",
		"/logout":                    "",
		"/register":                  "",
		" /admin":                    "",
		"/admin?next=//evil.example": "/admin?next=//evil.example", // a query of this site's page, harmless
		"///evil.example":            "",
		"/./admin":                   "/admin",
		"/admin/%2e%2e/%2e%2e//evil": "/evil",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
