package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// received is what the test server saw of one request.
type received struct {
	method, requestURI, path, latest string
	auth, contentType                string
	close                            bool
	contentLength                    int64
	body                             []byte
}

// recorder is a server that answers 204 to everything and keeps what it got.
type recorder struct {
	mu    sync.Mutex
	reqs  []received
	conns int
}

func newRecorder(t *testing.T) (*recorder, *httptest.Server) {
	rec := &recorder{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading body: %v", err)
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, received{
			method:        r.Method,
			requestURI:    r.RequestURI,
			path:          r.URL.Path,
			latest:        r.URL.Query().Get("latest"),
			auth:          r.Header.Get("Authorization"),
			contentType:   r.Header.Get("Content-Type"),
			close:         r.Close,
			contentLength: r.ContentLength,
			body:          body,
		})
		rec.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rec.mu.Lock()
			rec.conns++
			rec.mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return rec, srv
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	rec, srv := newRecorder(t)
	const zoe = "Zoë Ångström"
	text := `He said "hi" – “ok” 😀 <b>&amp; \ done`
	actions := []Action{
		{ID: 10, Command: CmdRegister, User: zoe, Arg: "zoe@example.dk", Password: `p"w\d`},
		{ID: 11, Command: CmdTweet, User: zoe, Arg: text},
		{ID: 12, Command: CmdFollow, User: zoe, Arg: "Roger Histand"},
		{ID: 13, Command: CmdUnfollow, User: zoe, Arg: "Roger Histand"},
	}
	s, err := Run(context.Background(), actions, Options{BaseURL: srv.URL + "/api/"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 4 || s.Errors != 0 {
		t.Fatalf("summary: %d requests, %d errors, want 4 and 0", s.Requests, s.Errors)
	}

	escaped := "Zo%C3%AB%20%C3%85ngstr%C3%B6m"
	want := []struct {
		requestURI, path string
		body             string // exact bytes
		fields           map[string]string
	}{
		{"/api/register?latest=10", "/api/register",
			`{"username": "Zo\u00eb \u00c5ngstr\u00f6m", "email": "zoe@example.dk", "pwd": "p\"w\\d"}`,
			map[string]string{"username": zoe, "email": "zoe@example.dk", "pwd": `p"w\d`}},
		{"/api/msgs/" + escaped + "?latest=11", "/api/msgs/" + zoe,
			`{"content": "He said \"hi\" \u2013 \u201cok\u201d \ud83d\ude00 <b>&amp; \\ done"}`,
			map[string]string{"content": text}},
		{"/api/fllws/" + escaped + "?latest=12", "/api/fllws/" + zoe,
			`{"follow": "Roger Histand"}`, map[string]string{"follow": "Roger Histand"}},
		{"/api/fllws/" + escaped + "?latest=13", "/api/fllws/" + zoe,
			`{"unfollow": "Roger Histand"}`, map[string]string{"unfollow": "Roger Histand"}},
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) != len(want) {
		t.Fatalf("server got %d requests, want %d", len(rec.reqs), len(want))
	}
	if rec.conns != len(want) {
		t.Errorf("%d connections for %d requests, want one each", rec.conns, len(want))
	}
	for i, w := range want {
		got := rec.reqs[i]
		if got.method != http.MethodPost {
			t.Errorf("%d: method %s, want POST", i, got.method)
		}
		if got.requestURI != w.requestURI || got.path != w.path {
			t.Errorf("%d: request URI %q (path %q), want %q (%q)", i, got.requestURI, got.path, w.requestURI, w.path)
		}
		if got.latest != fmt.Sprint(actions[i].ID) {
			t.Errorf("%d: latest %q, want %d", i, got.latest, actions[i].ID)
		}
		if got.auth != "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh" {
			t.Errorf("%d: Authorization %q, want the course's", i, got.auth)
		}
		if got.contentType != "application/json" {
			t.Errorf("%d: Content-Type %q", i, got.contentType)
		}
		if !got.close {
			t.Errorf("%d: no Connection: close", i)
		}
		if got.contentLength != int64(len(got.body)) {
			t.Errorf("%d: Content-Length %d for a body of %d bytes", i, got.contentLength, len(got.body))
		}
		if string(got.body) != w.body {
			t.Errorf("%d: body\n%s\nwant\n%s", i, got.body, w.body)
		}
		var fields map[string]string
		if err := json.Unmarshal(got.body, &fields); err != nil {
			t.Errorf("%d: body is not JSON: %v", i, err)
		}
		if fmt.Sprint(fields) != fmt.Sprint(w.fields) {
			t.Errorf("%d: body decodes to %v, want %v", i, fields, w.fields)
		}
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	actions := []Action{{ID: 1, Command: CmdTweet, User: "a", Arg: "x"}}
	_, err := Run(context.Background(), actions, Options{BaseURL: srv.URL, Username: "alice", Password: "s3cret:x"})
	if err != nil {
		t.Fatal(err)
	}
	if user != "alice" || pass != "s3cret:x" {
		t.Errorf("server got %q / %q, want alice / s3cret:x", user, pass)
	}
}

func TestPythonJSON(t *testing.T) {
	t.Parallel()
	got := string(pythonJSON("a", "q\"b\\s/\n\t\r\b\f\x01\x7f é 😀 <&> \u2028", "k", ""))
	want := `{"a": "q\"b\\s/\n\t\r\b\f\u0001\u007f \u00e9 \ud83d\ude00 <&> \u2028", "k": ""}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	ok := []Action{{ID: 1, Command: CmdTweet, User: "a", Arg: "x"}}
	tests := []struct {
		name    string
		actions []Action
		opt     Options
	}{
		{"no URL", ok, Options{}},
		{"no scheme", ok, Options{BaseURL: "127.0.0.1:8080/api"}},
		{"ftp", ok, Options{BaseURL: "ftp://example.com/api"}},
		{"query", ok, Options{BaseURL: "http://example.com/api?x=1"}},
		{"negative limit", ok, Options{BaseURL: "http://example.com", Limit: -1}},
		{"unknown command", []Action{{ID: 7, Command: "retweet", User: "a"}}, Options{BaseURL: "http://example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Run(context.Background(), tc.actions, tc.opt); err == nil {
				t.Error("Run accepted it")
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "http://x", Err: err} }
	tests := []struct {
		name      string
		err       error
		connected bool
		kind      ErrorKind
		course    string
	}{
		{"read timeout", wrap(context.DeadlineExceeded), true, KindTimeout, "ReadTimeout"},
		{"connect timeout", wrap(context.DeadlineExceeded), false, KindTimeout, "ConnectionError"},
		{"refused", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), false, KindConnection, "ConnectionError"},
		{"reset", wrap(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), true, KindConnection, "ConnectionError"},
		{"closed early", wrap(io.EOF), true, KindConnection, "ConnectionError"},
		{"dns", wrap(&net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}), false, KindConnection, "ConnectionError"},
		{"anything else", wrap(errors.New("net/http: HTTP/1.x transport connection broken: malformed HTTP response")), true, KindOther, "RequestException"},
	}
	for _, tc := range tests {
		kind, name := classify(tc.err, tc.connected)
		if kind != tc.kind || name != tc.course {
			t.Errorf("%s: got %s/%s, want %s/%s", tc.name, kind, name, tc.kind, tc.course)
		}
	}
}

// waitFor bounds a handler's wait so that a broken client cannot hang a test.
// The body is read first: only then does the server watch the connection
// and cancel r.Context() when the client hangs up.
func waitFor(r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func TestRunSpreadsOverSeveralBaseURLs(t *testing.T) {
	t.Parallel()
	var hits [2]atomic.Int64
	var servers [2]*httptest.Server
	for i := range servers {
		servers[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		defer servers[i].Close()
	}
	actions := []Action{{ID: 1, Command: CmdTweet, User: "a", Arg: "x"}, {ID: 2, Command: CmdTweet, User: "a", Arg: "y"},
		{ID: 3, Command: CmdTweet, User: "a", Arg: "z"}, {ID: 4, Command: CmdTweet, User: "a", Arg: "w"}}
	s, err := Run(context.Background(), actions, Options{BaseURL: servers[0].URL + ", " + servers[1].URL, Timeout: 5 * time.Second})
	if err != nil || s.Errors != 0 {
		t.Fatalf("%+v %v", s, err)
	}
	if hits[0].Load() != 2 || hits[1].Load() != 2 {
		t.Fatalf("requests per URL: %d and %d, want 2 and 2", hits[0].Load(), hits[1].Load())
	}
}
