package httpui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"minitwit/node/config"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// Helpers of the simulator API tests. Every name starts with "api" so that
// the UI tests of this package can never clash with them.

// apiAuth is the course simulator's Authorization header (simulator:super_safe!).
const apiAuth = "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh"

// apiNoAuth, as apiCase.auth, sends no Authorization header at all.
const apiNoAuth = "-"

// The contract's fixed texts, copied rather than imported: the test is the
// contract's second reader.
const (
	apiMsgNotAuthorized = "You are not authorized to use this resource!"
	apiMsgNoUsername    = "You have to enter a username"
	apiMsgBadEmail      = "You have to enter a valid email address"
	apiMsgNoPassword    = "You have to enter a password"
	apiMsgNameTaken     = "The username is already taken"
)

// apiAnyMsg, as apiCase.errMsg, accepts any non-empty error_msg.
const apiAnyMsg = "*"

// apiBasic builds a Basic Authorization header.
func apiBasic(user, pass string) string {
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// apiClient shows redirects instead of following them, so a test sees the
// status the server sent. Default transport. Its timeout is longer than the
// node's own request timeout, so that a slow answer shows as the node's
// answer, not as the client giving up.
var apiClient = &http.Client{
	Timeout:       testwait.Timeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// apiNode is a node under test, reached over HTTP on loopback: a real
// one, or httpuitest's without Raft.
type apiNode struct {
	host  string
	store *store.Store
}

// apiStart starts the handler over a node without Raft (httpuitest),
// after edit has adjusted its configuration.
func apiStart(t testing.TB, edit func(*config.Config)) *apiNode {
	t.Helper()
	n, _ := fake(t, edit)
	return &apiNode{host: n.HTTPAddr(), store: n.Store()}
}

type apiResp struct {
	status int
	header http.Header
	body   []byte
}

// apiSend sends one request. target is the request-target exactly as it
// goes on the wire (path and query, escapes untouched, so "/api//msgs" and
// "/api/%zz" reach the server as written). auth "" sends the simulator's
// credentials, apiNoAuth none, anything else is the header's value.
func (a *apiNode) send(method, target, body, auth string, header map[string]string) (apiResp, error) {
	path, query, _ := strings.Cut(target, "?")
	req, err := http.NewRequest(method, "http://"+a.host+"/", strings.NewReader(body))
	if err != nil {
		return apiResp{}, err
	}
	req.URL = &url.URL{Scheme: "http", Host: a.host, Opaque: path, RawQuery: query}
	req.Header.Set("Content-Type", "application/json")
	switch auth {
	case "":
		req.Header.Set("Authorization", apiAuth)
	case apiNoAuth:
	default:
		req.Header.Set("Authorization", auth)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return apiResp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiResp{}, err
	}
	return apiResp{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// do is send that fails the test on a transport error.
func (a *apiNode) do(t testing.TB, method, target, body, auth string, header map[string]string) apiResp {
	t.Helper()
	r, err := a.send(method, target, body, auth, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return r
}

// register creates users through the API (without latest) and fails the test otherwise.
func (a *apiNode) register(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		body := apiJSON(map[string]string{"username": name, "email": name + "@example.com", "pwd": "pw-" + name})
		if r := a.do(t, "POST", "/api/register", body, "", nil); r.status != http.StatusNoContent {
			t.Fatalf("register %q: %d %s", name, r.status, r.body)
		}
	}
}

// post sends one message through the API and fails the test otherwise.
func (a *apiNode) post(t testing.TB, user, text string) {
	t.Helper()
	r := a.do(t, "POST", "/api/msgs/"+url.PathEscape(user), apiJSON(map[string]string{"content": text}), "", nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("post as %q: %d %s", user, r.status, r.body)
	}
}

func (a *apiNode) counts(t testing.TB) store.Counts {
	t.Helper()
	var c store.Counts
	if err := a.store.View(func(r *store.ReadTx) error { c = r.Counts(); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

// latest reads the recorded simulator action id from the store itself.
func (a *apiNode) latest(t testing.TB) (int64, bool) {
	t.Helper()
	var v int64
	var ok bool
	if err := a.store.View(func(r *store.ReadTx) error { v, ok = r.Latest(); return nil }); err != nil {
		t.Fatal(err)
	}
	return v, ok
}

func (a *apiNode) digest(t testing.TB) string {
	t.Helper()
	d, err := a.store.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// apiDelta is the expected change of the store's counters by one request.
type apiDelta struct{ users, msgs, follows int }

func apiDeltaOf(before, after store.Counts) apiDelta {
	return apiDelta{
		users:   int(after.Users) - int(before.Users),
		msgs:    int(after.Messages) - int(before.Messages),
		follows: int(after.Follows) - int(before.Follows),
	}
}

// apiCase is one HTTP scenario in the PocketBase manner: what is sent, what
// must come back, and how the stored state must change.
type apiCase struct {
	name   string
	method string
	target string // path and query as sent on the wire
	body   string
	auth   string // "" the simulator's credentials, apiNoAuth none, else the header
	header map[string]string

	status int // 0: any redirect or 4xx (never a 5xx, never served as if valid)
	// The expected body. A 204 must always be empty; otherwise at most one
	// of these is set.
	json     string   // this JSON value, compared structurally (numbers exactly)
	errMsg   string   // {"status":status,"error_msg":errMsg}; apiAnyMsg for any text
	contains []string // raw substrings

	delta apiDelta // change of the counters; the zero value asserts "nothing stored"
}

// run sends c and checks status, body and the change of the counters.
func (a *apiNode) run(t *testing.T, c apiCase) apiResp {
	t.Helper()
	before := a.counts(t)
	r := a.do(t, c.method, c.target, c.body, c.auth, c.header)
	if c.status == 0 {
		t.Logf("%s %s: %d", c.method, c.target, r.status)
	}
	apiCheck(t, c, r)
	if got := apiDeltaOf(before, a.counts(t)); got != c.delta {
		t.Errorf("%s %s: counters changed by %+v, want %+v", c.method, c.target, got, c.delta)
	}
	return r
}

// runAll runs the cases in order, each as a subtest, against one node.
func (a *apiNode) runAll(t *testing.T, cases []apiCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { a.run(t, c) })
	}
}

func apiCheck(t *testing.T, c apiCase, r apiResp) {
	t.Helper()
	switch {
	case c.status == 0 && (r.status < 300 || r.status >= 500):
		t.Fatalf("%s %s: status %d, want a redirect or a 4xx; body %s", c.method, c.target, r.status, r.body)
	case c.status != 0 && r.status != c.status:
		t.Fatalf("%s %s: status %d, want %d; body %s", c.method, c.target, r.status, c.status, r.body)
	}
	if r.status == http.StatusNoContent && len(r.body) != 0 {
		t.Errorf("%s %s: 204 with a body: %q", c.method, c.target, r.body)
	}
	if c.json != "" {
		apiWantJSON(t, r, c.json)
	}
	if c.errMsg != "" {
		apiWantError(t, r, c.status, c.errMsg)
	}
	for _, s := range c.contains {
		if !bytes.Contains(r.body, []byte(s)) {
			t.Errorf("%s %s: body %q does not contain %q", c.method, c.target, r.body, s)
		}
	}
}

// apiDecode decodes JSON keeping numbers as written.
func apiDecode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

func apiWantJSON(t *testing.T, r apiResp, want string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	got, err := apiDecode(r.body)
	if err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	w, err := apiDecode([]byte(want))
	if err != nil {
		t.Fatalf("test's own JSON %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("body %s, want %s", bytes.TrimSpace(r.body), want)
	}
}

// apiWantError checks the contract's error shape: exactly status and
// error_msg, status equal to the HTTP status.
func apiWantError(t *testing.T, r apiResp, status int, msg string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("error body %q is not a JSON object: %v", r.body, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"error_msg", "status"}) {
		t.Errorf("error body %s has keys %v, want [error_msg status]", r.body, keys)
	}
	if got := string(m["status"]); got != fmt.Sprint(status) {
		t.Errorf("error body %s: status %s, want %d", r.body, got, status)
	}
	var got string
	if err := json.Unmarshal(m["error_msg"], &got); err != nil {
		t.Fatalf("error body %s: error_msg is not a string", r.body)
	}
	switch {
	case msg == apiAnyMsg && got == "":
		t.Errorf("error body %s: empty error_msg", r.body)
	case msg != apiAnyMsg && got != msg:
		t.Errorf("error_msg %q, want %q", got, msg)
	}
}

// apiMessage is a message as the API returns it.
type apiMessage struct {
	Content string `json:"content"`
	PubDate int64  `json:"pub_date"`
	User    string `json:"user"`
}

// apiMessages decodes a message list strictly: an array (never null) of
// objects with exactly content, pub_date (an integer) and user.
func apiMessages(t *testing.T, r apiResp) []apiMessage {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("body %q is not a JSON array of objects: %v", r.body, err)
	}
	if raw == nil {
		t.Fatalf("body %q: a list must be [] when empty, never null", r.body)
	}
	out := make([]apiMessage, len(raw))
	for i, m := range raw {
		if len(m) != 3 || m["content"] == nil || m["pub_date"] == nil || m["user"] == nil {
			t.Fatalf("message %d %v: want exactly the keys content, pub_date, user", i, m)
		}
		if strings.ContainsAny(string(m["pub_date"]), `.eE"`) {
			t.Errorf("message %d: pub_date %s is not an integer", i, m["pub_date"])
		}
		b, _ := json.Marshal(m)
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	return out
}

// apiContents lists the messages' texts.
func apiContents(ms []apiMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Content
	}
	return out
}

// apiJSON encodes v without HTML escaping (what a simulator would send).
func apiJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
