package httpui_test

// Writes that outlive their client: the course's simulator gives up after
// 0.3 s, so a write the node has read must still happen, `latest` with it.
// Each request here is written on a raw connection that is closed at once,
// before any answer.

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"minitwit/node/nodetest"
	"minitwit/store"
)

// sendAndLeave writes req on a fresh connection to host and closes it
// without reading the answer.
func sendAndLeave(t *testing.T, host string, req *http.Request) {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func apiRequest(t *testing.T, host, method, target, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+host+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", apiAuth)
	req.Header.Set("Content-Type", "application/json")
	return req
}

func TestAPIWritesOutliveTheClient(t *testing.T) {
	n := nodetest.Start(t, web, nodetest.Config(t.TempDir()))
	a := &apiNode{host: n.HTTPAddr(), store: n.Store()}
	wantLatest := func(v int64) func() bool {
		return func() bool { got, ok := a.latest(t); return ok && got == v }
	}
	names := []string{"gone a", "gone b", "gone c"}
	for i, name := range names {
		sendAndLeave(t, a.host, apiRequest(t, a.host, "POST", "/api/register?latest="+strconv.Itoa(i+1),
			apiJSON(map[string]string{"username": name, "email": "x@example.com", "pwd": "secret"})))
	}
	waitFor(t, "three registrations of clients that left", func() bool {
		for _, name := range names {
			if _, ok := uiUser(t, n, name); !ok {
				return false
			}
		}
		return true
	})
	sendAndLeave(t, a.host, apiRequest(t, a.host, "POST", "/api/msgs/gone%20a?latest=10", `{"content":"left early"}`))
	waitFor(t, "a tweet of a client that left, with latest", func() bool {
		return len(uiUserMessages(t, n, "gone a")) == 1 && wantLatest(10)()
	})
	sendAndLeave(t, a.host, apiRequest(t, a.host, "POST", "/api/fllws/gone%20a?latest=11", `{"follow":"gone b"}`))
	waitFor(t, "a follow of a client that left, with latest", func() bool {
		return uiIsFollowing(t, n, "gone a", "gone b") && wantLatest(11)()
	})
	// A refusal of a client that left records its latest too.
	sendAndLeave(t, a.host, apiRequest(t, a.host, "POST", "/api/register?latest=12",
		apiJSON(map[string]string{"username": "gone a", "email": "x@example.com", "pwd": "secret"})))
	waitFor(t, "latest of a refused registration whose client left", wantLatest(12))

	// The log says so, and never calls it the node's failure.
	waitFor(t, "a request logged as client gone", func() bool {
		for _, l := range n.LogRing().Lines(0) {
			if strings.Contains(l, `"client_gone":true`) && strings.Contains(l, `"status":499`) {
				return true
			}
		}
		return false
	})
	for _, l := range n.LogRing().Lines(0) {
		if strings.Contains(l, "api request failed") || strings.Contains(l, "recording latest failed") {
			t.Errorf("a client that left was logged as a failure: %s", l)
		}
	}
}

func TestUIWritesOutliveTheClient(t *testing.T) {
	n, base := nodetest.StartDefault(t, web)
	alice := uiSignup(t, base, "alice")
	uiSignup(t, base, "bob")
	u, _ := url.Parse(base)
	leave := func(method, path string, form url.Values, signedIn bool) {
		t.Helper()
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if signedIn {
			for _, c := range alice.jar.Cookies(u) {
				req.AddCookie(c)
			}
		}
		sendAndLeave(t, u.Host, req)
	}
	leave("POST", "/add_message", uiForm("text", "posted by a tab that closed"), true)
	waitFor(t, "a UI post of a client that left", func() bool { return len(uiUserMessages(t, n, "alice")) == 1 })
	leave("GET", "/bob/follow", nil, true)
	waitFor(t, "a UI follow of a client that left", func() bool { return uiIsFollowing(t, n, "alice", "bob") })
	leave("POST", "/register", uiForm("username", "carol", "email", "carol@example.com", "password", "pw", "password2", "pw"), false)
	waitFor(t, "a UI registration of a client that left", func() bool { _, ok := uiUser(t, n, "carol"); return ok })
	var c store.Counts
	uiView(t, n, func(tx *store.ReadTx) error { c = tx.Counts(); return nil })
	if c.Messages != 1 {
		t.Errorf("messages = %d, want 1", c.Messages)
	}
}
