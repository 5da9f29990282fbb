package httpui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"minitwit/ops/testwait"
	"minitwit/store"
)

// Fuzz targets over the real handlers: one node per target (httpuitest's:
// the real state machine and bbolt store, no Raft, an httptest.Server on
// loopback), started before the fuzz loop and shared by its inputs, each
// of which goes over HTTP as a client would send it. Their seeds run as
// ordinary tests; `make fuzz` runs each for FUZZTIME. The
// properties checked for every input are the project's rules for bad
// input: a 4xx (never a 5xx, never a hang), and a refused request changes
// nothing.

// fuzzNode starts the target's node, stopped when the target ends.
func fuzzNode(f *testing.F) *apiNode {
	n, _ := fake(f, nil)
	return &apiNode{host: n.HTTPAddr(), store: n.Store()}
}

// fuzzPost sends one POST with a raw body and returns the status and body.
func fuzzPost(t *testing.T, c *http.Client, url, contentType, auth, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the answer: %v", url, err)
	}
	return resp.StatusCode, b
}

// fuzzCounts reads the store's counters.
func fuzzCounts(t *testing.T, st *store.Store) store.Counts {
	t.Helper()
	var c store.Counts
	if err := st.View(func(r *store.ReadTx) error { c = r.Counts(); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

// fuzzAPI posts body to an API route with the simulator's credentials and
// checks the answer: 204 or a JSON error with a 4xx, and with a refusal
// the store's counters unchanged. It returns the status and the counters
// before and after.
func fuzzAPI(t *testing.T, a *apiNode, path, body string) (int, store.Counts, store.Counts) {
	t.Helper()
	before := fuzzCounts(t, a.store)
	status, b := fuzzPost(t, apiClient, "http://"+a.host+path, "application/json", apiAuth, body)
	after := fuzzCounts(t, a.store)
	switch {
	case status == http.StatusNoContent:
	case status >= 400 && status < 500:
		var e struct {
			Status   int    `json:"status"`
			ErrorMsg string `json:"error_msg"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Status != status || e.ErrorMsg == "" {
			t.Fatalf("POST %s %q: %d with a body that is not the contract's error: %q", path, body, status, b)
		}
		if after != before {
			t.Fatalf("POST %s %q: refused with %d but the store changed: %+v -> %+v", path, body, status, before, after)
		}
	default:
		t.Fatalf("POST %s %q: %d %q, want 204 or a 4xx", path, body, status, b)
	}
	return status, before, after
}

// apiBodySeeds are bodies every API decoder should meet: good ones, the
// wrong shapes and types, trailing data, bad UTF-8, deep nesting.
var apiBodySeeds = []string{
	``, `{}`, `null`, `[]`, `"x"`, `0`, `{`, `}`, `{"a":1}{"b":2}`, `{} x`, "{}\n",
	`{"username":1}`, `{"content":null}`, `{"content":["a"]}`, `{"follow":{"x":1}}`,
	"{\"content\":\"\xff\xfe\"}", `{"content":"\ud800"}`, `{"content":"a\u0000b"}`,
	strings.Repeat(`[`, 10000), `{"x":` + strings.Repeat(`{"x":`, 500) + `1` + strings.Repeat(`}`, 501),
	`{"username":"a","username":"b","email":"b@x","pwd":"p"}`,
}

// FuzzAPIRegister: /api/register's JSON decoding and validation.
func FuzzAPIRegister(f *testing.F) {
	for _, s := range apiBodySeeds {
		f.Add(s)
	}
	f.Add(`{"username":"fuzzy","email":"fuzzy@example.com","pwd":"pw"}`)
	f.Add(`{"username":"fuzzy","email":"fuzzy@example.com","pwd":"pw"} `)
	f.Add(`{"username":"FUZZY","email":"f@example.com","pwd":"pw"}`)
	f.Add(`{"username":"a\u200bb","email":"x@example.com","pwd":"pw"}`)
	f.Add(`{"username":"bad","email":"no-at-sign","pwd":"pw"}`)
	f.Add(`{"username":"bad","email":"x@example.com\n","pwd":"pw"}`)
	f.Add(`{"username":"bad","email":"x@example.com","pwd":""}`)
	f.Add(`{"username":"bad","email":"x@example.com","pwd":"` + strings.Repeat("p", 2000) + `"}`)
	a := fuzzNode(f)
	f.Fuzz(func(t *testing.T, body string) {
		status, before, after := fuzzAPI(t, a, "/api/register", body)
		if status == http.StatusNoContent && after.Users != before.Users+1 {
			t.Fatalf("%q: 204 but users %d -> %d", body, before.Users, after.Users)
		}
	})
}

// FuzzAPIMessages: /api/msgs/{user}'s JSON decoding and validation.
func FuzzAPIMessages(f *testing.F) {
	for _, s := range apiBodySeeds {
		f.Add(s)
	}
	f.Add(`{"content":"hello"}`)
	f.Add(`{"content":""}`)
	f.Add(`{"content":"` + strings.Repeat("x", 300) + `"}`)
	f.Add(`{"content":"hi","extra":[1,2,{}]}`)
	a := fuzzNode(f)
	a.register(f, "poster")
	f.Fuzz(func(t *testing.T, body string) {
		status, before, after := fuzzAPI(t, a, "/api/msgs/poster", body)
		if status == http.StatusNoContent && after.Messages != before.Messages+1 {
			t.Fatalf("%q: 204 but messages %d -> %d", body, before.Messages, after.Messages)
		}
	})
}

// FuzzAPIFollows: /api/fllws/{user}'s JSON decoding and validation.
func FuzzAPIFollows(f *testing.F) {
	for _, s := range apiBodySeeds {
		f.Add(s)
	}
	f.Add(`{"follow":"other"}`)
	f.Add(`{"unfollow":"other"}`)
	f.Add(`{"follow":"other","unfollow":"other"}`)
	f.Add(`{"follow":"follower"}`)
	f.Add(`{"follow":"nobody"}`)
	f.Add(`{"follow":""}`)
	f.Add(`{"unfollow":null}`)
	a := fuzzNode(f)
	a.register(f, "follower", "other")
	f.Fuzz(func(t *testing.T, body string) {
		status, before, after := fuzzAPI(t, a, "/api/fllws/follower", body)
		if d := int(after.Follows) - int(before.Follows); status == http.StatusNoContent && (d < -1 || d > 1) {
			t.Fatalf("%q: 204 but follows %d -> %d", body, before.Follows, after.Follows)
		}
	})
}

// fuzzForm posts a raw url-encoded body to a UI route and checks the
// answer: a redirect or a 4xx page, never a 5xx. It returns the status and
// the counters before and after; a 4xx must leave them as they were.
func fuzzForm(t *testing.T, c *http.Client, a *apiNode, path, body string) (int, store.Counts, store.Counts) {
	t.Helper()
	before := fuzzCounts(t, a.store)
	status, b := fuzzPost(t, c, "http://"+a.host+path, "application/x-www-form-urlencoded", "", body)
	after := fuzzCounts(t, a.store)
	switch {
	case status == http.StatusSeeOther:
	case status >= 400 && status < 500:
		if after != before {
			t.Fatalf("POST %s %q: refused with %d but the store changed: %+v -> %+v", path, body, status, before, after)
		}
	default:
		t.Fatalf("POST %s %q: %d, want a redirect or a 4xx; body:\n%.500s", path, body, status, b)
	}
	return status, before, after
}

// formSeeds are form bodies every form handler should meet: broken
// escapes, repeated and empty keys, separators, NULs, bad UTF-8.
var formSeeds = []string{
	``, `=`, `&&&`, `%`, `%zz`, `a=%`, `a=b;c=d`, `username`, `username=&username=x`,
	"username=a%00b", "username=%ff%fe", `username=` + strings.Repeat("%41", 3000),
}

// FuzzUIRegister: the sign-up form's parsing and validation (anonymous).
func FuzzUIRegister(f *testing.F) {
	for _, s := range formSeeds {
		f.Add(s)
	}
	f.Add(`username=formuser&email=formuser%40example.com&password=pw&password2=pw`)
	f.Add(`username=formuser2&email=formuser2%40example.com&password=pw&password2=other`)
	f.Add(`username=+spaced+&email=s%40example.com&password=pw&password2=pw`)
	f.Add(`username=x&email=x%40example.com%0Abcc&password=pw&password2=pw`)
	a := fuzzNode(f)
	c := &http.Client{Timeout: testwait.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, body string) {
		status, before, after := fuzzForm(t, c, a, "/register", body)
		if status == http.StatusSeeOther && after.Users != before.Users+1 {
			t.Fatalf("%q: registered (303) but users %d -> %d", body, before.Users, after.Users)
		}
		if status != http.StatusSeeOther && after.Users != before.Users {
			t.Fatalf("%q: refused but users %d -> %d", body, before.Users, after.Users)
		}
	})
}

// FuzzUILogin: the sign-in form's parsing (anonymous; a 429 from the
// login limiter is one of the 4xx answers).
func FuzzUILogin(f *testing.F) {
	for _, s := range formSeeds {
		f.Add(s)
	}
	f.Add(`username=signer&password=pw-signer`)
	f.Add(`username=signer&password=wrong`)
	f.Add(`username=nobody&password=pw`)
	f.Add(`username=signer&password=` + strings.Repeat("p", 5000))
	a := fuzzNode(f)
	a.register(f, "signer")
	c := &http.Client{Timeout: testwait.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, body string) {
		status, before, after := fuzzForm(t, c, a, "/login", body)
		if after != before {
			t.Fatalf("%q: a sign-in (%d) changed the store: %+v -> %+v", body, status, before, after)
		}
	})
}

// FuzzUIAddMessage: the message form's parsing, as a signed-in user.
func FuzzUIAddMessage(f *testing.F) {
	for _, s := range formSeeds {
		f.Add(s)
	}
	f.Add(`text=hello`)
	f.Add(`text=`)
	f.Add(`text=a&text=b`)
	f.Add(`text=` + strings.Repeat("x", 300))
	f.Add("text=%00%01%1b")
	a := fuzzNode(f)
	a.register(f, "writer")
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: testwait.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s := &uiSession{base: "http://" + a.host, jar: jar, stay: c, follow: &http.Client{Jar: jar, Timeout: testwait.Timeout}}
	uiLogin(f, s, "writer", "pw-writer")
	f.Fuzz(func(t *testing.T, body string) {
		status, before, after := fuzzForm(t, c, a, "/add_message", body)
		if d := int(after.Messages) - int(before.Messages); d < 0 || d > 1 {
			t.Fatalf("%q: %d and messages %d -> %d", body, status, before.Messages, after.Messages)
		}
	})
}
