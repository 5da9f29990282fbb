package httpui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"minitwit/node/config"
	"minitwit/store"
)

// Tests of the simulator API (../shared/spec/simulator-api.md) against the
// real handler, state machine and bbolt store over a loopback listener
// (httpuitest's node, without Raft). Each test function
// shares one node between its rows; rows run in order because later rows
// build on the state earlier ones left.

func TestAPILatest(t *testing.T) {
	t.Parallel()
	a := apiStart(t, func(c *config.Config) { c.API.MaxBodyBytes = 1024 })

	// A new node has recorded nothing.
	if _, ok := a.latest(t); ok {
		t.Fatal("a new node's store already holds a latest value")
	}
	a.run(t, apiCase{method: "GET", target: "/api/latest", auth: apiNoAuth, status: 200, json: `{"latest":-1}`})

	reg := func(name string) string {
		return apiJSON(map[string]string{"username": name, "email": name + "@x.org", "pwd": "p"})
	}
	big := `{"content":"` + strings.Repeat("x", 2000) + `"}`
	steps := []struct {
		apiCase
		latest int64 // what GET /api/latest returns afterwards
	}{
		// Without the simulator's credentials a request records no latest,
		// whatever it does (a registration still needs none).
		{apiCase{name: "register 204 without credentials records nothing", method: "POST", target: "/api/register?latest=1", body: reg("lat a"), auth: apiNoAuth, status: 204, delta: apiDelta{users: 1}}, -1},
		{apiCase{name: "register 204 with credentials", method: "POST", target: "/api/register?latest=1", body: reg("lat z"), status: 204, delta: apiDelta{users: 1}}, 1},
		{apiCase{name: "register 204 again", method: "POST", target: "/api/register?latest=2", body: reg("lat b"), status: 204, delta: apiDelta{users: 1}}, 2},
		{apiCase{name: "register 400 no username", method: "POST", target: "/api/register?latest=3", body: reg(""), status: 400, errMsg: apiMsgNoUsername}, 3},
		{apiCase{name: "register 400 bad body", method: "POST", target: "/api/register?latest=4", body: `{`, status: 400, errMsg: apiAnyMsg}, 4},
		{apiCase{name: "register 400 taken", method: "POST", target: "/api/register?latest=5", body: reg("lat a"), status: 400, errMsg: apiMsgNameTaken}, 5},
		{apiCase{name: "post 204", method: "POST", target: "/api/msgs/lat%20a?latest=6", body: `{"content":"hi"}`, status: 204, delta: apiDelta{msgs: 1}}, 6},
		{apiCase{name: "post 400 bad body", method: "POST", target: "/api/msgs/lat%20a?latest=7", body: `nope`, status: 400, errMsg: apiAnyMsg}, 7},
		{apiCase{name: "GET msgs 403 no auth", method: "GET", target: "/api/msgs?latest=8", auth: apiNoAuth, status: 403, errMsg: apiMsgNotAuthorized}, 7},
		{apiCase{name: "post 403 wrong auth", method: "POST", target: "/api/msgs/lat%20a?latest=9", body: `{"content":"no"}`, auth: apiBasic("simulator", "wrong"), status: 403, errMsg: apiMsgNotAuthorized}, 7},
		{apiCase{name: "follow 403 no auth", method: "POST", target: "/api/fllws/lat%20a?latest=10", body: `{"follow":"lat b"}`, auth: apiNoAuth, status: 403, errMsg: apiMsgNotAuthorized}, 7},
		{apiCase{name: "GET user msgs 404", method: "GET", target: "/api/msgs/nobody?latest=11", status: 404, errMsg: apiAnyMsg}, 11},
		{apiCase{name: "post 404", method: "POST", target: "/api/msgs/nobody?latest=12", body: `{"content":"x"}`, status: 404, errMsg: apiAnyMsg}, 12},
		{apiCase{name: "GET follows 404", method: "GET", target: "/api/fllws/nobody?latest=13", status: 404, errMsg: apiAnyMsg}, 13},
		{apiCase{name: "follow 404 unknown follower", method: "POST", target: "/api/fllws/nobody?latest=14", body: `{"follow":"lat a"}`, status: 404, errMsg: apiAnyMsg}, 14},
		{apiCase{name: "follow 404 unknown followee", method: "POST", target: "/api/fllws/lat%20a?latest=15", body: `{"follow":"nobody"}`, status: 404, errMsg: apiAnyMsg}, 15},
		{apiCase{name: "follow 204", method: "POST", target: "/api/fllws/lat%20a?latest=16", body: `{"follow":"lat b"}`, status: 204, delta: apiDelta{follows: 1}}, 16},
		{apiCase{name: "unfollow 204", method: "POST", target: "/api/fllws/lat%20a?latest=17", body: `{"unfollow":"lat b"}`, status: 204, delta: apiDelta{follows: -1}}, 17},
		{apiCase{name: "follow self 400", method: "POST", target: "/api/fllws/lat%20a?latest=18", body: `{"follow":"lat a"}`, status: 400, errMsg: apiAnyMsg}, 18},
		{apiCase{name: "follow 400 bad body", method: "POST", target: "/api/fllws/lat%20a?latest=19", body: `{}`, status: 400, errMsg: apiAnyMsg}, 19},
		{apiCase{name: "post 413", method: "POST", target: "/api/msgs/lat%20a?latest=20", body: big, status: 413, errMsg: apiAnyMsg}, 20},
		{apiCase{name: "GET msgs", method: "GET", target: "/api/msgs?latest=21", status: 200}, 21},
		{apiCase{name: "GET user msgs", method: "GET", target: "/api/msgs/lat%20a?latest=22", status: 200}, 22},
		{apiCase{name: "GET follows", method: "GET", target: "/api/fllws/lat%20a?latest=23", status: 200, json: `{"follows":[]}`}, 23},
		{apiCase{name: "GET latest records its own", method: "GET", target: "/api/latest?latest=24", status: 200, json: `{"latest":24}`}, 24},
		{apiCase{name: "GET latest without credentials records nothing", method: "GET", target: "/api/latest?latest=25", auth: apiNoAuth, status: 200, json: `{"latest":24}`}, 24},
		// Not integers: ignored, and the request is served as if absent.
		{apiCase{name: "abc ignored", method: "GET", target: "/api/msgs?latest=abc", status: 200}, 24},
		{apiCase{name: "1.5 ignored", method: "GET", target: "/api/msgs?latest=1.5", status: 200}, 24},
		{apiCase{name: "empty ignored", method: "GET", target: "/api/msgs?latest=", status: 200}, 24},
		{apiCase{name: "overflow ignored", method: "GET", target: "/api/msgs?latest=99999999999999999999", status: 200}, 24},
		{apiCase{name: "hex ignored", method: "GET", target: "/api/msgs?latest=0x10", status: 200}, 24},
		{apiCase{name: "bad escape ignored", method: "GET", target: "/api/msgs?latest=%zz", status: 200}, 24},
		{apiCase{name: "non-integer on a post", method: "POST", target: "/api/msgs/lat%20a?latest=abc", body: `{"content":"still posted"}`, status: 204, delta: apiDelta{msgs: 1}}, 24},
		{apiCase{name: "non-integer on a register", method: "POST", target: "/api/register?latest=2.0", body: reg("lat c"), status: 204, delta: apiDelta{users: 1}}, 24},
		{apiCase{name: "non-integer on a 403", method: "GET", target: "/api/msgs?latest=x", auth: apiNoAuth, status: 403, errMsg: apiMsgNotAuthorized}, 24},
		// Integers of any sign and size are recorded, also when lower.
		{apiCase{name: "negative recorded", method: "GET", target: "/api/msgs?latest=-5", status: 200}, -5},
		{apiCase{name: "zero recorded", method: "GET", target: "/api/msgs?latest=0", status: 200}, 0},
		{apiCase{name: "max int64", method: "GET", target: "/api/msgs?latest=9223372036854775807", status: 200}, 9223372036854775807},
		{apiCase{name: "min int64", method: "GET", target: "/api/msgs?latest=-9223372036854775808", status: 200}, -9223372036854775808},
		{apiCase{name: "back to the scenario", method: "GET", target: "/api/msgs?latest=25921", status: 200}, 25921},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			a.run(t, s.apiCase)
			a.run(t, apiCase{method: "GET", target: "/api/latest", auth: apiNoAuth, status: 200, json: fmt.Sprintf(`{"latest":%d}`, s.latest)})
			got, ok := a.latest(t)
			if !ok {
				got = -1 // nothing recorded
			}
			if got != s.latest {
				t.Errorf("store holds latest %d (set %v), want %d", got, ok, s.latest)
			}
		})
	}
}

func TestAPIRegister(t *testing.T) {
	t.Parallel()
	a := apiStart(t, nil)
	reg := func(user, email, pwd string) string {
		return apiJSON(map[string]string{"username": user, "email": email, "pwd": pwd})
	}
	ok := apiDelta{users: 1}
	a.runAll(t, []apiCase{
		{name: "without auth", method: "POST", target: "/api/register", body: reg("reg plain", "p@x.org", "pw"), auth: apiNoAuth, status: 204, delta: ok},
		{name: "with auth", method: "POST", target: "/api/register", body: reg("reg auth", "a@x.org", "pw"), status: 204, delta: ok},
		{name: "with wrong auth (not checked)", method: "POST", target: "/api/register", body: reg("reg wrong auth", "w@x.org", "pw"), auth: apiBasic("x", "y"), status: 204, delta: ok},
		{name: "spaces", method: "POST", target: "/api/register", body: reg("Roger Histand", "roger@x.org", "pw"), status: 204, delta: ok},
		{name: "unicode", method: "POST", target: "/api/register", body: reg("Jürgen 日本 🐦", "j@x.org", "pw"), status: 204, delta: ok},
		// Names are unique regardless of case (issue 12: look-alikes).
		{name: "case differs from a taken name", method: "POST", target: "/api/register", body: reg("REG PLAIN", "P@x.org", "pw"), status: 400, errMsg: apiMsgNameTaken},
		{name: "extra fields ignored", method: "POST", target: "/api/register", body: `{"username":"reg extra","email":"e@x.org","pwd":"pw","pwd2":"other"}`, status: 204, delta: ok},

		// The contract's four refusals, in its order.
		{name: "missing username", method: "POST", target: "/api/register", body: `{"email":"a@b.c","pwd":"p"}`, status: 400, errMsg: apiMsgNoUsername},
		{name: "empty username before other errors", method: "POST", target: "/api/register", body: reg("", "", ""), status: 400, errMsg: apiMsgNoUsername},
		{name: "missing email", method: "POST", target: "/api/register", body: `{"username":"reg e1","pwd":"p"}`, status: 400, errMsg: apiMsgBadEmail},
		{name: "email without @", method: "POST", target: "/api/register", body: reg("reg e2", "not-an-address", "p"), status: 400, errMsg: apiMsgBadEmail},
		{name: "email before password", method: "POST", target: "/api/register", body: reg("reg e3", "", ""), status: 400, errMsg: apiMsgBadEmail},
		{name: "email before taken", method: "POST", target: "/api/register", body: reg("reg plain", "bad", "p"), status: 400, errMsg: apiMsgBadEmail},
		{name: "missing password", method: "POST", target: "/api/register", body: `{"username":"reg p1","email":"a@b.c"}`, status: 400, errMsg: apiMsgNoPassword},
		{name: "empty password", method: "POST", target: "/api/register", body: reg("reg p2", "a@b.c", ""), status: 400, errMsg: apiMsgNoPassword},
		{name: "password before taken", method: "POST", target: "/api/register", body: reg("reg plain", "a@b.c", ""), status: 400, errMsg: apiMsgNoPassword},
		{name: "taken", method: "POST", target: "/api/register", body: reg("reg plain", "other@x.org", "other"), status: 400, errMsg: apiMsgNameTaken},
		{name: "taken with spaces", method: "POST", target: "/api/register", body: reg("Roger Histand", "r2@x.org", "pw"), status: 400, errMsg: apiMsgNameTaken},

		// Names that would collide with routes or paths.
		{name: "reserved public", method: "POST", target: "/api/register", body: reg("public", "a@b.c", "p"), status: 400, errMsg: apiAnyMsg},
		{name: "reserved login", method: "POST", target: "/api/register", body: reg("login", "a@b.c", "p"), status: 400, errMsg: apiAnyMsg},
		{name: "reserved api", method: "POST", target: "/api/register", body: reg("api", "a@b.c", "p"), status: 400, errMsg: apiAnyMsg},
		{name: "reserved admin", method: "POST", target: "/api/register", body: reg("admin", "a@b.c", "p"), status: 400, errMsg: apiAnyMsg},
		{name: "reserved Admin", method: "POST", target: "/api/register", body: reg("Admin", "a@b.c", "p"), status: 400, errMsg: apiAnyMsg},
		{name: "slash", method: "POST", target: "/api/register", body: reg("a/b", "a@b.c", "p"), status: 400, errMsg: apiAnyMsg},
		{name: "control character", method: "POST", target: "/api/register", body: reg("a\nb", "a@b.c", "p"), status: 400, errMsg: apiAnyMsg},
		{name: "too long", method: "POST", target: "/api/register", body: reg(strings.Repeat("n", store.MaxUsernameBytes+1), "a@b.c", "p"), status: 400, errMsg: apiAnyMsg},

		// Bodies that are not a registration.
		{name: "empty body", method: "POST", target: "/api/register", body: ``, status: 400, errMsg: apiAnyMsg},
		{name: "malformed", method: "POST", target: "/api/register", body: `{"username":`, status: 400, errMsg: apiAnyMsg},
		{name: "array", method: "POST", target: "/api/register", body: `[]`, status: 400, errMsg: apiAnyMsg},
		{name: "wrong type", method: "POST", target: "/api/register", body: `{"username":5,"email":"a@b.c","pwd":"p"}`, status: 400, errMsg: apiAnyMsg},
		{name: "trailing garbage", method: "POST", target: "/api/register", body: reg("reg trailing", "t@x.org", "p") + ` x`, status: 400, errMsg: apiAnyMsg},
		{name: "invalid UTF-8", method: "POST", target: "/api/register", body: "{\"username\":\"bad\xff\",\"email\":\"a@b.c\",\"pwd\":\"p\"}", status: 400, errMsg: apiAnyMsg},
	})

	// The registered users are stored under their exact names.
	err := a.store.View(func(r *store.ReadTx) error {
		for name, email := range map[string]string{"Roger Histand": "roger@x.org", "Jürgen 日本 🐦": "j@x.org", "reg plain": "p@x.org"} {
			u, err := r.UserByName(name)
			if err != nil {
				t.Errorf("user %q: %v", name, err)
				continue
			}
			if u.Name != name || u.Email != email {
				t.Errorf("user %q stored as %q <%s>, want <%s>", name, u.Name, u.Email, email)
			}
		}
		for _, name := range []string{"public", "Admin", "a/b", "reg e1", "reg p1", "reg trailing"} {
			if _, err := r.UserByName(name); err == nil {
				t.Errorf("refused user %q was stored", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A user registered through the API can be read back through it.
	a.run(t, apiCase{method: "GET", target: "/api/msgs/J%C3%BCrgen%20%E6%97%A5%E6%9C%AC%20%F0%9F%90%A6", status: 200, json: `[]`})
}

// TestAPIAuth sends every authenticated endpoint every kind of bad
// credentials: each gets the contract's 403 and changes nothing at all.
func TestAPIAuth(t *testing.T) {
	t.Parallel()
	a := apiStart(t, nil)
	a.register(t, "auth a", "auth b")
	a.post(t, "auth a", "existing")

	endpoints := []struct{ method, target, body string }{
		{"GET", "/api/msgs", ""},
		{"GET", "/api/msgs/auth%20a", ""},
		{"GET", "/api/msgs/nobody", ""}, // 403 comes before 404
		{"POST", "/api/msgs/auth%20a", `{"content":"must not be stored"}`},
		{"POST", "/api/msgs/auth%20a", `not even JSON`}, // 403 comes before 400
		{"GET", "/api/fllws/auth%20a", ""},
		{"POST", "/api/fllws/auth%20a", `{"follow":"auth b"}`},
		{"POST", "/api/fllws/auth%20b", `{"unfollow":"auth a"}`},
	}
	creds := []struct{ name, header string }{
		{"missing", apiNoAuth},
		{"wrong password", apiBasic("simulator", "super_safe")},
		{"wrong password case", apiBasic("simulator", "SUPER_SAFE!")},
		{"wrong user", apiBasic("simulat0r", "super_safe!")},
		{"empty user and password", apiBasic("", "")},
		{"password only", apiBasic("", "super_safe!")},
		{"not base64", "Basic !!!not-base64!!!"},
		{"no colon", "Basic c2ltdWxhdG9yc3VwZXJfc2FmZSE="}, // simulatorsuper_safe!
		{"bearer scheme", "Bearer c2ltdWxhdG9yOnN1cGVyX3NhZmUh"},
		{"scheme only", "Basic"},
		{"raw credentials", "simulator:super_safe!"},
	}
	before := a.digest(t)
	for _, e := range endpoints {
		for _, c := range creds {
			t.Run(e.method+" "+e.target+" "+c.name, func(t *testing.T) {
				a.run(t, apiCase{method: e.method, target: e.target, body: e.body, auth: c.header,
					status: 403, json: `{"status":403,"error_msg":"You are not authorized to use this resource!"}`})
			})
		}
	}
	if after := a.digest(t); after != before {
		t.Error("refused requests changed the store")
	}
	// The same requests with the right credentials are served: the refusals
	// above were about the credentials only.
	a.runAll(t, []apiCase{
		{name: "good post", method: "POST", target: "/api/msgs/auth%20a", body: `{"content":"ok"}`, status: 204, delta: apiDelta{msgs: 1}},
		{name: "good follow", method: "POST", target: "/api/fllws/auth%20a", body: `{"follow":"auth b"}`, status: 204, delta: apiDelta{follows: 1}},
		{name: "good read", method: "GET", target: "/api/fllws/auth%20a", status: 200, json: `{"follows":["auth b"]}`},
	})
}

func TestAPIMsgsList(t *testing.T) {
	t.Parallel()
	a := apiStart(t, nil)

	// Empty lists are [] on the wire, not null.
	for _, target := range []string{"/api/msgs", "/api/msgs?no=0"} {
		if r := a.do(t, "GET", target, "", "", nil); r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
			t.Errorf("GET %s on a new node: %d %q, want 200 []", target, r.status, r.body)
		}
	}
	a.register(t, "msg a", "msg b", "msg quiet", "Jürgen")
	for _, target := range []string{"/api/msgs/msg%20quiet", "/api/msgs/J%C3%BCrgen", "/api/msgs/msg%20a?no=-1"} {
		if r := a.do(t, "GET", target, "", "", nil); r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
			t.Errorf("GET %s: %d %q, want 200 []", target, r.status, r.body)
		}
	}

	// Five quick posts: almost surely within one second, so arrival order,
	// not pub_date, is what orders them.
	start := time.Now().Unix()
	order := []struct{ user, text string }{{"msg a", "a1"}, {"msg b", "b1"}, {"msg a", "a2"}, {"msg b", "b2"}, {"msg a", "a3"}}
	for _, p := range order {
		a.post(t, p.user, p.text)
	}
	end := time.Now().Unix()

	all := apiMessages(t, a.do(t, "GET", "/api/msgs", "", "", nil))
	want := []apiMessage{{"a3", 0, "msg a"}, {"b2", 0, "msg b"}, {"a2", 0, "msg a"}, {"b1", 0, "msg b"}, {"a1", 0, "msg a"}}
	if len(all) != len(want) {
		t.Fatalf("GET /api/msgs: %d messages %v, want %v", len(all), all, want)
	}
	for i, m := range all {
		if m.Content != want[i].Content || m.User != want[i].User {
			t.Errorf("message %d = %q by %q, want %q by %q", i, m.Content, m.User, want[i].Content, want[i].User)
		}
		if m.PubDate < start || m.PubDate > end {
			t.Errorf("message %d: pub_date %d outside [%d, %d] (Unix seconds)", i, m.PubDate, start, end)
		}
		if i > 0 && m.PubDate > all[i-1].PubDate {
			t.Errorf("message %d is newer than message %d", i, i-1)
		}
	}
	byA := apiMessages(t, a.do(t, "GET", "/api/msgs/msg%20a", "", "", nil))
	if got := apiContents(byA); !slices.Equal(got, []string{"a3", "a2", "a1"}) {
		t.Errorf("GET /api/msgs/msg%%20a = %v, want [a3 a2 a1]", got)
	}
	for _, m := range byA {
		if m.User != "msg a" {
			t.Errorf("user list holds a message by %q", m.User)
		}
	}

	// Text round-trips byte for byte, not HTML-escaped.
	text := "Grüße 🐦 <b>\"quoted\"</b> & 'single' — 日本語 \\ tab\tnewline\n end"
	a.post(t, "Jürgen", text)
	for _, target := range []string{"/api/msgs?no=1", "/api/msgs/J%C3%BCrgen"} {
		r := a.do(t, "GET", target, "", "", nil)
		ms := apiMessages(t, r)
		if len(ms) != 1 || ms[0].Content != text || ms[0].User != "Jürgen" {
			t.Errorf("GET %s = %+v, want one message %q by Jürgen", target, ms, text)
		}
		for _, raw := range []string{`<b>`, `</b>`, ` & `, `Grüße 🐦`, `日本語`, `"user":"Jürgen"`} {
			if !strings.Contains(string(r.body), raw) {
				t.Errorf("GET %s: raw body %s lacks %q (escaped?)", target, r.body, raw)
			}
		}
	}

	a.runAll(t, []apiCase{
		{name: "unknown user", method: "GET", target: "/api/msgs/nobody", status: 404, errMsg: apiAnyMsg},
		{name: "exact case only", method: "GET", target: "/api/msgs/MSG%20A", status: 404, errMsg: apiAnyMsg},
		{name: "plus is not a space in a path", method: "GET", target: "/api/msgs/msg+a", status: 404, errMsg: apiAnyMsg},
		{name: "trailing space", method: "GET", target: "/api/msgs/msg%20a%20", status: 404, errMsg: apiAnyMsg},
		{name: "escaped slash", method: "GET", target: "/api/msgs/msg%2Fa", status: 404, errMsg: apiAnyMsg},
		{name: "name with a space, no=1", method: "GET", target: "/api/msgs/msg%20b?no=1", status: 200, json: `[{"content":"b2","pub_date":` + fmt.Sprint(all[1].PubDate) + `,"user":"msg b"}]`},
	})
}

func TestAPIMsgsNo(t *testing.T) {
	t.Parallel()
	const maxNo = 110 // above the default of 100, so default and cap differ
	a := apiStart(t, func(c *config.Config) { c.API.MaxNo = maxNo })
	a.register(t, "no user")
	var texts []string // newest first
	for i := range 120 {
		text := fmt.Sprintf("n%03d", i)
		a.post(t, "no user", text)
		texts = append([]string{text}, texts...)
	}
	tests := []struct {
		query string
		want  int // the newest want messages
	}{
		{"", 100},
		{"?no=5", 5},
		{"?no=1", 1},
		{"?no=100", 100},
		{"?no=109", 109},
		{"?no=110", 110},
		{"?no=111", 110},
		{"?no=120", 110},
		{"?no=abc", 100},
		{"?no=1.5", 100},
		{"?no=", 100},
		{"?no=%zz", 100},
		{"?no=5x", 100},
		{"?no=0", 0},
		{"?no=-1", 0},
		{"?no=-100000000000", 0},
		{"?no=-99999999999999999999999", 0},
		{"?no=100000000000", maxNo},
		{"?no=99999999999999999999999", maxNo},
		{"?no=9223372036854775807", maxNo},
	}
	for _, path := range []string{"/api/msgs", "/api/msgs/no%20user"} {
		for _, tt := range tests {
			t.Run(path+tt.query, func(t *testing.T) {
				t.Parallel() // reads only
				got := apiContents(apiMessages(t, a.do(t, "GET", path+tt.query, "", "", nil)))
				if !slices.Equal(got, texts[:tt.want]) {
					t.Errorf("got %d messages %.40v..., want the newest %d", len(got), got, tt.want)
				}
			})
		}
	}
}

// TestAPIMsgsNoSmallCap: a max_no below the default also bounds requests
// that give no `no` (or a non-integer one), not only those that ask for more.
func TestAPIMsgsNoSmallCap(t *testing.T) {
	t.Parallel()
	a := apiStart(t, func(c *config.Config) { c.API.MaxNo = 2 })
	a.register(t, "cap user")
	for _, s := range []string{"c1", "c2", "c3"} {
		a.post(t, "cap user", s)
	}
	for _, target := range []string{"/api/msgs?no=100", "/api/msgs", "/api/msgs?no=abc", "/api/msgs/cap%20user"} {
		got := apiContents(apiMessages(t, a.do(t, "GET", target, "", "", nil)))
		if !slices.Equal(got, []string{"c3", "c2"}) {
			t.Errorf("GET %s with api.max_no=2: %v, want [c3 c2]", target, got)
		}
	}
}

func TestAPIPostMessage(t *testing.T) {
	t.Parallel()
	const maxBody = 16 << 10 // above store.MaxMessageBytes, so both limits show
	a := apiStart(t, func(c *config.Config) { c.API.MaxBodyBytes = maxBody })
	a.register(t, "post a", "Ünï Cödé")
	msg := func(s string) string { return apiJSON(map[string]string{"content": s}) }
	longest := strings.Repeat("é", store.MaxMessageBytes/2) // exactly MaxMessageBytes bytes
	stored := apiDelta{msgs: 1}
	p := "/api/msgs/post%20a"
	a.runAll(t, []apiCase{
		{name: "ok", method: "POST", target: p, body: msg("hello"), status: 204, delta: stored},
		{name: "unicode name and text", method: "POST", target: "/api/msgs/%C3%9Cn%C3%AF%20C%C3%B6d%C3%A9", body: msg("ça va? 👍"), status: 204, delta: stored},
		{name: "cross-origin headers ignored", method: "POST", target: p, body: msg("from afar"), status: 204, delta: stored,
			header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/x"}},
		{name: "extra field ignored", method: "POST", target: p, body: `{"content":"extra","flagged":true}`, status: 204, delta: stored},
		{name: "trailing whitespace", method: "POST", target: p, body: msg("ws") + "\n\t ", status: 204, delta: stored},
		{name: "longest message", method: "POST", target: p, body: msg(longest), status: 204, delta: stored},
		{name: "unknown user", method: "POST", target: "/api/msgs/nobody", body: msg("x"), status: 404, errMsg: apiAnyMsg},
		{name: "user name case differs", method: "POST", target: "/api/msgs/POST%20A", body: msg("x"), status: 404, errMsg: apiAnyMsg},
		{name: "malformed", method: "POST", target: p, body: `{"content":`, status: 400, errMsg: apiAnyMsg},
		{name: "not JSON", method: "POST", target: p, body: `content=hello`, status: 400, errMsg: apiAnyMsg},
		{name: "empty body", method: "POST", target: p, body: ``, status: 400, errMsg: apiAnyMsg},
		{name: "content a number", method: "POST", target: p, body: `{"content": 5}`, status: 400, errMsg: apiAnyMsg},
		{name: "content an object", method: "POST", target: p, body: `{"content": {"text":"x"}}`, status: 400, errMsg: apiAnyMsg},
		{name: "content null", method: "POST", target: p, body: `{"content": null}`, status: 400, errMsg: apiAnyMsg},
		{name: "missing content", method: "POST", target: p, body: `{}`, status: 400, errMsg: apiAnyMsg},
		{name: "other key", method: "POST", target: p, body: `{"text":"x"}`, status: 400, errMsg: apiAnyMsg},
		{name: "empty content", method: "POST", target: p, body: msg(""), status: 400, errMsg: apiAnyMsg},
		{name: "array", method: "POST", target: p, body: `[{"content":"x"}]`, status: 400, errMsg: apiAnyMsg},
		{name: "empty array", method: "POST", target: p, body: `[]`, status: 400, errMsg: apiAnyMsg},
		{name: "null", method: "POST", target: p, body: `null`, status: 400, errMsg: apiAnyMsg},
		{name: "string", method: "POST", target: p, body: `"x"`, status: 400, errMsg: apiAnyMsg},
		{name: "trailing garbage", method: "POST", target: p, body: msg("x") + ` garbage`, status: 400, errMsg: apiAnyMsg},
		{name: "second object", method: "POST", target: p, body: msg("x") + msg("y"), status: 400, errMsg: apiAnyMsg},
		{name: "trailing brace", method: "POST", target: p, body: msg("x") + `}`, status: 400, errMsg: apiAnyMsg},
		{name: "trailing bracket", method: "POST", target: p, body: msg("x") + `]`, status: 400, errMsg: apiAnyMsg},
		{name: "invalid UTF-8", method: "POST", target: p, body: "{\"content\":\"bad \xff\xfe\"}", status: 400, errMsg: apiAnyMsg},
		{name: "message too long", method: "POST", target: p, body: msg(longest + "x"), status: 400, errMsg: apiAnyMsg},
		{name: "body too large", method: "POST", target: p, body: msg(strings.Repeat("x", maxBody)), status: 413, errMsg: apiAnyMsg},
		{name: "body far too large", method: "POST", target: p, body: msg(strings.Repeat("x", 1<<20)), status: 413, errMsg: apiAnyMsg},
	})

	// What was acknowledged is stored exactly; nothing else is.
	var got []string
	err := a.store.View(func(r *store.ReadTx) error {
		u, err := r.UserByName("post a")
		if err != nil {
			return err
		}
		page, err := r.UserTimeline(u.ID, store.Page{Limit: 100})
		for _, m := range page.Messages {
			got = append(got, m.Text)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{longest, "ws", "extra", "from afar", "hello"}; !slices.Equal(got, want) {
		t.Errorf("stored texts %.60q, want %.60q", got, want)
	}
}

func TestAPIFollows(t *testing.T) {
	t.Parallel()
	a := apiStart(t, nil)
	a.register(t, "fa", "fb", "fc", "fd", "f e")
	f := "/api/fllws/fa"
	follow := func(who string) string { return apiJSON(map[string]string{"follow": who}) }
	unfollow := func(who string) string { return apiJSON(map[string]string{"unfollow": who}) }
	one := apiDelta{follows: 1}
	a.runAll(t, []apiCase{
		{name: "none yet", method: "GET", target: f, status: 200, json: `{"follows":[]}`},
		{name: "follow", method: "POST", target: f, body: follow("fb"), status: 204, delta: one},
		{name: "follow again is kept once", method: "POST", target: f, body: follow("fb"), status: 204},
		{name: "one follow", method: "GET", target: f, status: 200, json: `{"follows":["fb"]}`},
		{name: "follow fd", method: "POST", target: f, body: follow("fd"), status: 204, delta: one},
		{name: "follow fc cross-origin", method: "POST", target: f, body: follow("fc"), status: 204, delta: one,
			header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		{name: "follow a name with a space", method: "POST", target: f, body: follow("f e"), status: 204, delta: one},
		{name: "in registration order", method: "GET", target: f, status: 200, json: `{"follows":["fb","fc","fd","f e"]}`},
		{name: "no=2", method: "GET", target: f + "?no=2", status: 200, json: `{"follows":["fb","fc"]}`},
		{name: "no=0", method: "GET", target: f + "?no=0", status: 200, json: `{"follows":[]}`},
		{name: "no=-3", method: "GET", target: f + "?no=-3", status: 200, json: `{"follows":[]}`},
		{name: "no=abc", method: "GET", target: f + "?no=abc", status: 200, json: `{"follows":["fb","fc","fd","f e"]}`},
		{name: "no huge", method: "GET", target: f + "?no=99999999999999999999999", status: 200, json: `{"follows":["fb","fc","fd","f e"]}`},
		{name: "follows are not symmetric", method: "GET", target: "/api/fllws/fb", status: 200, json: `{"follows":[]}`},
		{name: "name with space follows", method: "POST", target: "/api/fllws/f%20e", body: follow("fa"), status: 204, delta: one},
		{name: "name with space lists", method: "GET", target: "/api/fllws/f%20e", status: 200, json: `{"follows":["fa"]}`},
		{name: "unfollow", method: "POST", target: f, body: unfollow("fc"), status: 204, delta: apiDelta{follows: -1}},
		{name: "unfollow again", method: "POST", target: f, body: unfollow("fc"), status: 204},
		{name: "unfollow never followed", method: "POST", target: "/api/fllws/fb", body: unfollow("fa"), status: 204},
		{name: "after unfollow", method: "GET", target: f, status: 200, json: `{"follows":["fb","fd","f e"]}`},

		{name: "follow self", method: "POST", target: f, body: follow("fa"), status: 400, errMsg: apiAnyMsg},
		{name: "GET unknown", method: "GET", target: "/api/fllws/nobody", status: 404, errMsg: apiAnyMsg},
		{name: "unknown follower", method: "POST", target: "/api/fllws/nobody", body: follow("fa"), status: 404, errMsg: apiAnyMsg},
		{name: "unknown followee", method: "POST", target: f, body: follow("nobody"), status: 404, errMsg: apiAnyMsg},
		{name: "followee case differs", method: "POST", target: f, body: follow("FC"), status: 404, errMsg: apiAnyMsg},
		{name: "unknown unfollower", method: "POST", target: "/api/fllws/nobody", body: unfollow("fa"), status: 404, errMsg: apiAnyMsg},
		{name: "unknown unfollowee", method: "POST", target: f, body: unfollow("nobody"), status: 404, errMsg: apiAnyMsg},

		{name: "neither key", method: "POST", target: f, body: `{}`, status: 400, errMsg: apiAnyMsg},
		{name: "other key", method: "POST", target: f, body: `{"follows":"fc"}`, status: 400, errMsg: apiAnyMsg},
		{name: "both keys", method: "POST", target: f, body: `{"follow":"fc","unfollow":"fb"}`, status: 400, errMsg: apiAnyMsg},
		{name: "both keys one empty", method: "POST", target: f, body: `{"follow":"fc","unfollow":""}`, status: 400, errMsg: apiAnyMsg},
		{name: "empty follow", method: "POST", target: f, body: `{"follow":""}`, status: 400, errMsg: apiAnyMsg},
		{name: "empty unfollow", method: "POST", target: f, body: `{"unfollow":""}`, status: 400, errMsg: apiAnyMsg},
		{name: "null follow", method: "POST", target: f, body: `{"follow":null}`, status: 400, errMsg: apiAnyMsg},
		{name: "number", method: "POST", target: f, body: `{"follow":5}`, status: 400, errMsg: apiAnyMsg},
		{name: "bool", method: "POST", target: f, body: `{"unfollow":true}`, status: 400, errMsg: apiAnyMsg},
		{name: "list", method: "POST", target: f, body: `{"follow":["fc"]}`, status: 400, errMsg: apiAnyMsg},
		{name: "array body", method: "POST", target: f, body: `[]`, status: 400, errMsg: apiAnyMsg},
		{name: "malformed", method: "POST", target: f, body: `{"follow":`, status: 400, errMsg: apiAnyMsg},
		{name: "empty body", method: "POST", target: f, body: ``, status: 400, errMsg: apiAnyMsg},
		{name: "trailing garbage", method: "POST", target: f, body: follow("fc") + `x`, status: 400, errMsg: apiAnyMsg},
		{name: "invalid UTF-8", method: "POST", target: f, body: "{\"follow\":\"fc\xff\"}", status: 400, errMsg: apiAnyMsg},
		{name: "unchanged", method: "GET", target: f, status: 200, json: `{"follows":["fb","fd","f e"]}`},
	})
	if c := a.counts(t); c.Follows != 4 {
		t.Errorf("store counts %d follows, want 4", c.Follows)
	}
}

// TestAPIOddPaths: paths and methods outside the contract get a 4xx (or a
// redirect), never a 5xx, and change nothing.
func TestAPIOddPaths(t *testing.T) {
	t.Parallel()
	a := apiStart(t, nil)
	a.register(t, "a")
	a.runAll(t, []apiCase{
		{name: "msgs slash", method: "GET", target: "/api/msgs/"},
		{name: "double slash", method: "GET", target: "/api//msgs"},
		{name: "two segments", method: "GET", target: "/api/msgs/a/b"},
		{name: "post two segments", method: "POST", target: "/api/msgs/a/b", body: `{"content":"x"}`},
		{name: "post msgs slash", method: "POST", target: "/api/msgs/", body: `{"content":"x"}`},
		{name: "post public list", method: "POST", target: "/api/msgs", body: `{"content":"x"}`, status: 405},
		{name: "delete msgs", method: "DELETE", target: "/api/msgs", status: 405},
		{name: "delete user msgs", method: "DELETE", target: "/api/msgs/a", status: 405},
		{name: "put register", method: "PUT", target: "/api/register", body: `{"username":"p","email":"p@x","pwd":"p"}`, status: 405},
		{name: "get register", method: "GET", target: "/api/register"},
		{name: "post latest", method: "POST", target: "/api/latest?latest=5", status: 405},
		{name: "patch follows", method: "PATCH", target: "/api/fllws/a", body: `{"follow":"a"}`, status: 405},
		{name: "options", method: "OPTIONS", target: "/api/msgs"},
		{name: "bad escape", method: "GET", target: "/api/%zz", status: 400},
		{name: "bad escape in name", method: "GET", target: "/api/msgs/%zz"},
		{name: "bad escape in query", method: "GET", target: "/api/msgs?no=%zz", status: 200},
		{name: "NUL in name", method: "GET", target: "/api/msgs/%00", status: 404},
		{name: "dot segments", method: "GET", target: "/api/msgs/..%2F..%2Fetc%2Fpasswd", status: 404},
		{name: "long name", method: "GET", target: "/api/msgs/" + strings.Repeat("n", 8000), status: 404},
		{name: "api root", method: "GET", target: "/api"},
		{name: "api slash", method: "GET", target: "/api/"},
		{name: "fllws without name", method: "GET", target: "/api/fllws"},
		{name: "unknown endpoint", method: "GET", target: "/api/users"},
		{name: "upper case", method: "GET", target: "/API/msgs"},
	})
}

func TestAPIAllowList(t *testing.T) {
	t.Parallel()
	reg := apiJSON(map[string]string{"username": "allow a", "email": "a@x.org", "pwd": "p"})
	refused := func(name string, hdr map[string]string) []apiCase {
		return []apiCase{
			{name: name + " latest", method: "GET", target: "/api/latest?latest=7", header: hdr, status: 403, errMsg: apiAnyMsg},
			{name: name + " register", method: "POST", target: "/api/register?latest=8", body: reg, header: hdr, status: 403, errMsg: apiAnyMsg},
			{name: name + " msgs", method: "GET", target: "/api/msgs?latest=9", header: hdr, status: 403, errMsg: apiAnyMsg},
		}
	}
	served := func(name string, hdr map[string]string, latest int) []apiCase {
		q := fmt.Sprintf("?latest=%d", latest)
		return []apiCase{
			{name: name + " msgs", method: "GET", target: "/api/msgs" + q, header: hdr, status: 200, json: `[]`},
			{name: name + " latest", method: "GET", target: "/api/latest", header: hdr, status: 200, json: fmt.Sprintf(`{"latest":%d}`, latest)},
		}
	}
	tests := []struct {
		name            string
		accepted, proxy []string
		cases           []apiCase
		latest          int64 // -1: nothing recorded
	}{
		{
			name: "loopback not accepted", accepted: []string{"10.0.0.0/8"},
			// Without trusted proxies, X-Forwarded-For is not believed.
			cases:  append(refused("plain", nil), refused("forged XFF", map[string]string{"X-Forwarded-For": "10.1.2.3"})...),
			latest: -1,
		},
		{
			name: "loopback accepted", accepted: []string{"127.0.0.1/32"},
			cases: append(served("plain", nil, 3),
				served("XFF ignored", map[string]string{"X-Forwarded-For": "198.51.100.1"}, 4)...),
			latest: 4,
		},
		{
			name: "behind a trusted proxy", accepted: []string{"203.0.113.7/32"}, proxy: []string{"127.0.0.1"},
			cases: slices.Concat(
				served("accepted client", map[string]string{"X-Forwarded-For": "203.0.113.7"}, 5),
				served("client after a spoofed hop", map[string]string{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}, 6),
				refused("other client", map[string]string{"X-Forwarded-For": "198.51.100.1"}),
				refused("accepted address spoofed left of the client", map[string]string{"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}),
				refused("no XFF: the proxy itself", nil),
				refused("garbage XFF", map[string]string{"X-Forwarded-For": "not-an-ip"}),
			),
			latest: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := apiStart(t, func(c *config.Config) {
				c.Simulator.AcceptedIPs, c.HTTP.TrustedProxies = tt.accepted, tt.proxy
			})
			a.runAll(t, tt.cases)
			got, ok := a.latest(t)
			if !ok {
				got = -1
			}
			if got != tt.latest {
				t.Errorf("stored latest %d, want %d (refused requests must record nothing)", got, tt.latest)
			}
		})
	}
}

func TestAPISimulatorPassword(t *testing.T) {
	t.Parallel()
	a := apiStart(t, func(c *config.Config) { c.Simulator.Password = "other" })
	a.runAll(t, []apiCase{
		{name: "default password refused", method: "GET", target: "/api/msgs", status: 403, errMsg: apiMsgNotAuthorized},
		{name: "configured password", method: "GET", target: "/api/msgs", auth: apiBasic("simulator", "other"), status: 200, json: `[]`},
		{name: "register needs none", method: "POST", target: "/api/register", body: `{"username":"pw a","email":"a@b.c","pwd":"p"}`, auth: apiNoAuth, status: 204, delta: apiDelta{users: 1}},
		{name: "post with default refused", method: "POST", target: "/api/msgs/pw%20a", body: `{"content":"x"}`, status: 403, errMsg: apiMsgNotAuthorized},
		{name: "post with configured", method: "POST", target: "/api/msgs/pw%20a", body: `{"content":"x"}`, auth: apiBasic("simulator", "other"), status: 204, delta: apiDelta{msgs: 1}},
	})
}

func TestAPIConcurrentPosts(t *testing.T) {
	t.Parallel()
	const writers, each = 16, 50
	a := apiStart(t, nil)
	// The writers register at most as many at once as the node hashes
	// passwords at once (two per CPU, auth.NewHasher): 16 at once would
	// queue for its hashing slots, and on a loaded machine the last ones
	// would meet the request deadline (a 503 by design). The posts are
	// what runs concurrently here.
	users := make([]string, writers)
	slots := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range users {
		users[i] = fmt.Sprintf("writer %02d", i)
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			body := apiJSON(map[string]string{"username": users[i], "email": "w@x.org", "pwd": "p"})
			r, err := a.send("POST", "/api/register", body, "", nil)
			if err != nil || r.status != http.StatusNoContent {
				t.Errorf("register %q: %d %s %v", users[i], r.status, r.body, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var mu sync.Mutex
	bad := map[string]int{}
	for _, u := range users {
		wg.Go(func() {
			for j := range each {
				r, err := a.send("POST", "/api/msgs/"+url.PathEscape(u), fmt.Sprintf(`{"content":"%s #%02d"}`, u, j), "", nil)
				if err != nil || r.status != http.StatusNoContent {
					mu.Lock()
					bad[fmt.Sprintf("%d %v", r.status, err)]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("answers other than 204: %v", bad)
	}
	// The node's first admin is a user too.
	if c := a.counts(t); c.Messages != writers*each || c.Users-c.Admins != writers {
		t.Errorf("store counts %+v, want %d users besides the admins and %d messages", c, writers, writers*each)
	}
	// Each writer's messages are all there, in its order.
	for _, u := range users {
		got := apiContents(apiMessages(t, a.do(t, "GET", "/api/msgs/"+url.PathEscape(u), "", "", nil)))
		want := make([]string, each)
		for j := range each {
			want[each-1-j] = fmt.Sprintf("%s #%02d", u, j)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", u, got, want)
		}
	}
}

// TestAPIOpenRegisterLimit: registrations without the simulator's
// credentials are limited per source outside simulator.accepted_ips;
// with them, or from an accepted address, they are not.
func TestAPIOpenRegisterLimit(t *testing.T) {
	t.Parallel()
	reg := func(name string) string {
		return apiJSON(map[string]string{"username": name, "email": "o@x.org", "pwd": "p"})
	}
	a := apiStart(t, nil)
	// 21 at once: the budget is taken when a request arrives, before its
	// password is hashed, so exactly 20 get past the limit however long
	// the hashing takes (sent one after the other, 20 hashes on a loaded
	// machine outlast the 30 s in which the budget gains one back). An
	// admitted registration that then finds no hashing slot within the
	// request deadline answers 503 and stores nothing (as in
	// TestLoginLimitParallelGuesses); on a quiet machine all 20 are 204.
	before := a.counts(t)
	answers := make([]apiResp, 21)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			var err error
			if answers[i], err = a.send("POST", "/api/register?latest=5", reg(fmt.Sprintf("open %d", i)), apiNoAuth, nil); err != nil {
				t.Errorf("open registration %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	var created, busy, limited int
	for i, r := range answers {
		switch {
		case r.status == http.StatusNoContent && len(r.body) == 0:
			created++
		case r.status == http.StatusServiceUnavailable:
			busy++
		case r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") != "":
			limited++
		default:
			t.Errorf("open registration %d: %d (Retry-After %q) %s, want 204, or 429 with Retry-After", i, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	if created+busy != 20 || limited != 1 {
		t.Errorf("21 open registrations at once: %d created, %d admitted but busy, %d limited; want 20 past the limit and 1 limited", created, busy, limited)
	}
	if d := apiDeltaOf(before, a.counts(t)); d != (apiDelta{users: created}) {
		t.Errorf("the store changed by %+v, want the %d users created", d, created)
	}
	if _, ok := a.latest(t); ok {
		t.Error("a registration without credentials recorded latest")
	}
	a.run(t, apiCase{method: "POST", target: "/api/register?latest=6", body: reg("open with creds"), status: 204, delta: apiDelta{users: 1}})
	if v, _ := a.latest(t); v != 6 {
		t.Errorf("latest %d after an authenticated registration, want 6", v)
	}

	accepted := apiStart(t, func(c *config.Config) { c.Simulator.AcceptedIPs = []string{"127.0.0.1/32"} })
	for i := range 25 {
		accepted.run(t, apiCase{method: "POST", target: "/api/register", body: reg(fmt.Sprintf("acc %d", i)), auth: apiNoAuth, status: 204, delta: apiDelta{users: 1}})
	}
}
