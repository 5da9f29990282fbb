package httpui_test

// Web UI tests against the real handler, state machine and bbolt store
// (httpuitest's node without Raft, HTTP on a loopback port; the restart
// test starts a real node twice), driven the way the course's Python UI
// tests drive the original: plain url-encoded form posts, a cookie jar, no
// CSRF token and no browser headers.
// Every route, flash, form error, page text and markup rule of
// ../shared/spec/web-ui.md has a case here; the browser's view of the same
// contract is in browser_test.go.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// The texts the contract fixes, spelled out here rather than imported, so a
// changed constant in the code under test fails these tests.
const (
	uiFlashRegistered = "You were successfully registered and can login now"
	uiFlashLoggedIn   = "You were logged in"
	uiFlashLoggedOut  = "You were logged out"
	uiFlashRecorded   = "Your message was recorded"

	uiErrNoUsername = "You have to enter a username"
	uiErrBadEmail   = "You have to enter a valid email address"
	uiErrNoPassword = "You have to enter a password"
	uiErrMismatch   = "The two passwords do not match"
	uiErrTaken      = "The username is already taken"
	uiErrBadUser    = "Invalid username"
	uiErrBadPass    = "Invalid password"

	uiNotFollowing = "You are not yet following this user."
	uiFollowing    = "You are currently following this user."
	uiFollowBtn    = "Follow user"
	uiUnfollowBtn  = "Unfollow user"
	uiThisIsYou    = "This is you!"
	uiNoMessages   = "There's no message so far."
)

func uiFlashFollowing(name string) string { return fmt.Sprintf(`You are now following "%s"`, name) }
func uiFlashUnfollowing(name string) string {
	return fmt.Sprintf(`You are no longer following "%s"`, name)
}

// uiSession is one user agent: a cookie jar shared by a client that follows
// redirects (as the course's tests do) and one that does not (to see the
// redirect itself). It is safe for concurrent use.
type uiSession struct {
	base   string
	jar    *cookiejar.Jar
	follow *http.Client
	stay   *http.Client
}

func uiClient(t testing.TB, base string) *uiSession {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &uiSession{
		base: base, jar: jar,
		follow: &http.Client{Jar: jar, Timeout: testwait.Timeout},
		stay: &http.Client{Jar: jar, Timeout: testwait.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// uiPage is one answer, after redirects when the following client sent it.
type uiPage struct {
	Status   int
	Path     string // path and query of the final request
	Location string // the redirect target's path and query, "" when none
	Body     string
	Cookies  []*http.Cookie // Set-Cookie of the final response
	Header   http.Header    // of the final response
}

// do sends a request with c (s.follow or s.stay); a form makes it a plain
// url-encoded post, as the course's tests send it.
func (s *uiSession) do(t testing.TB, c *http.Client, method, path string, form url.Values, header map[string]string) uiPage {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	p := uiPage{Status: resp.StatusCode, Path: resp.Request.URL.RequestURI(), Body: string(b), Cookies: resp.Cookies(), Header: resp.Header}
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := resp.Request.URL.Parse(loc)
		if err != nil {
			t.Fatalf("%s %s: bad Location %q: %v", method, path, loc, err)
		}
		p.Location = u.RequestURI()
		if u.Host != resp.Request.URL.Host {
			p.Location = u.String()
		}
	}
	return p
}

func (s *uiSession) get(t testing.TB, path string) uiPage {
	t.Helper()
	return s.do(t, s.follow, http.MethodGet, path, nil, nil)
}

func (s *uiSession) post(t testing.TB, path string, form url.Values) uiPage {
	t.Helper()
	return s.do(t, s.follow, http.MethodPost, path, form, nil)
}

func (s *uiSession) getStay(t testing.TB, path string) uiPage {
	t.Helper()
	return s.do(t, s.stay, http.MethodGet, path, nil, nil)
}

func (s *uiSession) postStay(t testing.TB, path string, form url.Values) uiPage {
	t.Helper()
	return s.do(t, s.stay, http.MethodPost, path, form, nil)
}

// uiForm builds form values from key, value pairs.
func uiForm(kv ...string) url.Values {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// uiPath is the URL path of a user's page.
func uiPath(name string) string { return "/" + url.PathEscape(name) }

// uiEmail makes a plausible address from any username.
func uiEmail(name string) string {
	local := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '.'
	}, strings.ToLower(name))
	return "x" + local + "@example.com"
}

func uiPassword(name string) string { return "pw-" + name + "-1" }

var (
	uiFlashListRE = regexp.MustCompile(`(?s)<ul class="flashes">(.*?)</ul>`)
	uiItemRE      = regexp.MustCompile(`(?s)<li>(.*?)</li>`)
	uiInputRE     = regexp.MustCompile(`<input\b[^>]*>`)
	uiAttrRE      = regexp.MustCompile(`\b(name|type|value)="([^"]*)"`)
	uiDateRE      = regexp.MustCompile(`\d{4}-\d{2}-\d{2} @ \d{2}:\d{2}`)
	uiOlderRE     = regexp.MustCompile(`href="([^"]*before=[^"]*)"`)
	uiScriptRE    = regexp.MustCompile(`(?i)<script`)
)

// uiRawFlashes returns the markup inside each <li> of <ul class="flashes">.
func uiRawFlashes(body string) []string {
	var out []string
	for _, list := range uiFlashListRE.FindAllStringSubmatch(body, -1) {
		for _, li := range uiItemRE.FindAllStringSubmatch(list[1], -1) {
			out = append(out, strings.TrimSpace(li[1]))
		}
	}
	return out
}

// uiFlashes returns the flashes as text.
func uiFlashes(body string) []string {
	raw := uiRawFlashes(body)
	for i, f := range raw {
		raw[i] = html.UnescapeString(f)
	}
	return raw
}

func uiWantFlashes(t testing.TB, p uiPage, want ...string) {
	t.Helper()
	if got := uiFlashes(p.Body); !slices.Equal(got, want) {
		t.Errorf("%s: flashes = %q, want %q", p.Path, got, want)
	}
}

func uiWantContains(t testing.TB, p uiPage, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Errorf("%s (status %d): page lacks %q", p.Path, p.Status, s)
		}
	}
}

func uiWantLacks(t testing.TB, p uiPage, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(p.Body, s) {
			t.Errorf("%s (status %d): page shows %q", p.Path, p.Status, s)
		}
	}
}

func uiWantStatus(t testing.TB, p uiPage, want int) {
	t.Helper()
	if p.Status != want {
		t.Errorf("%s: status %d, want %d", p.Path, p.Status, want)
	}
}

// uiWantRedirect checks a response of the non-following client.
func uiWantRedirect(t testing.TB, p uiPage, to string) {
	t.Helper()
	if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
		t.Errorf("%s: status %d, want a redirect (302/303) to %s", p.Path, p.Status, to)
	}
	if p.Location != to {
		t.Errorf("%s: redirects to %q, want %q", p.Path, p.Location, to)
	}
}

// uiRegister registers through the form and checks the success flash.
func uiRegister(t testing.TB, s *uiSession, name, email, password string) {
	t.Helper()
	p := s.post(t, "/register", uiForm("username", name, "email", email, "password", password, "password2", password))
	if p.Path != "/login" {
		t.Fatalf("registering %q: ended at %s (status %d), want /login; body:\n%s", name, p.Path, p.Status, p.Body)
	}
	uiWantFlashes(t, p, uiFlashRegistered)
}

// uiLogin logs in through the form and checks the flash.
func uiLogin(t testing.TB, s *uiSession, name, password string) {
	t.Helper()
	// A sign-in writes through Raft; in a cluster on a loaded machine it
	// may meet an election and get the node's 503 "retry". Sign in again.
	var p uiPage
	testwait.Until(t, "a sign-in that meets a leader", func() bool {
		p = s.post(t, "/login", uiForm("username", name, "password", password))
		return p.Status != http.StatusServiceUnavailable
	})
	if p.Path != "/" {
		t.Fatalf("logging in %q: ended at %s (status %d), want /; body:\n%s", name, p.Path, p.Status, p.Body)
	}
	uiWantFlashes(t, p, uiFlashLoggedIn)
}

// uiSignup returns a fresh session of a newly registered, logged-in user.
func uiSignup(t testing.TB, base, name string) *uiSession {
	t.Helper()
	s := uiClient(t, base)
	uiRegister(t, s, name, uiEmail(name), uiPassword(name))
	uiLogin(t, s, name, uiPassword(name))
	return s
}

// uiPostMessage posts through the post box and checks the flash.
func uiPostMessage(t testing.TB, s *uiSession, text string) {
	t.Helper()
	p := s.post(t, "/add_message", uiForm("text", text))
	if p.Path != "/" {
		t.Fatalf("posting %q: ended at %s (status %d), want /", text, p.Path, p.Status)
	}
	uiWantFlashes(t, p, uiFlashRecorded)
}

// uiView runs fn in a read transaction of the node's store.
func uiView(t testing.TB, n storeHolder, fn func(*store.ReadTx) error) {
	t.Helper()
	if err := n.Store().View(fn); err != nil {
		t.Fatal(err)
	}
}

func uiCounts(t testing.TB, n storeHolder) store.Counts {
	t.Helper()
	var c store.Counts
	uiView(t, n, func(tx *store.ReadTx) error { c = tx.Counts(); return nil })
	return c
}

func uiUser(t testing.TB, n storeHolder, name string) (store.User, bool) {
	t.Helper()
	var u store.User
	var err error
	uiView(t, n, func(tx *store.ReadTx) error { u, err = tx.UserByName(name); return nil })
	return u, err == nil
}

func uiIsFollowing(t testing.TB, n storeHolder, who, whom string) bool {
	t.Helper()
	a, ok1 := uiUser(t, n, who)
	b, ok2 := uiUser(t, n, whom)
	if !ok1 || !ok2 {
		t.Fatalf("users %q and %q must exist", who, whom)
	}
	var f bool
	uiView(t, n, func(tx *store.ReadTx) error { f = tx.IsFollowing(a.ID, b.ID); return nil })
	return f
}

// uiUserMessages returns a user's newest messages from the store.
func uiUserMessages(t testing.TB, n storeHolder, name string) []store.Message {
	t.Helper()
	u, ok := uiUser(t, n, name)
	if !ok {
		t.Fatalf("user %q must exist", name)
	}
	var page store.TimelinePage
	uiView(t, n, func(tx *store.ReadTx) error {
		var err error
		page, err = tx.UserTimeline(u.ID, store.Page{Limit: 100})
		return err
	})
	return page.Messages
}

func TestUIRegister(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	uiRegister(t, uiClient(t, base), "taken", "taken@example.com", "taken-pw")

	allErrors := []string{uiErrNoUsername, uiErrBadEmail, uiErrNoPassword, uiErrMismatch, uiErrTaken}
	reg := func(user, email, pw, pw2 string) url.Values {
		return uiForm("username", user, "email", email, "password", pw, "password2", pw2)
	}
	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"empty form", reg("", "", "", ""), uiErrNoUsername},
		{"no fields at all", url.Values{}, uiErrNoUsername},
		{"no username", reg("", "nouser@example.com", "secret-a1", "secret-a1"), uiErrNoUsername},
		{"no email", reg("noemail", "", "secret-b1", "secret-b1"), uiErrBadEmail},
		{"email without @", reg("bademail", "bademail.example.com", "secret-c1", "secret-c1"), uiErrBadEmail},
		{"email before password", reg("emailfirst", "nope", "", ""), uiErrBadEmail},
		{"no password", reg("nopass", "nopass@example.com", "", ""), uiErrNoPassword},
		{"no password but a repeat", reg("nopass2", "nopass2@example.com", "", "secret-d1"), uiErrNoPassword},
		{"passwords differ", reg("mismatch", "mismatch@example.com", "secret-e1", "secret-e2"), uiErrMismatch},
		{"no repeat", reg("norepeat", "norepeat@example.com", "secret-f1", ""), uiErrMismatch},
		{"mismatch before taken", reg("taken", "other@example.com", "secret-g1", "secret-g2"), uiErrMismatch},
		{"username taken", reg("taken", "other@example.com", "secret-h1", "secret-h1"), uiErrTaken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := uiClient(t, base)
			p := s.post(t, "/register", tc.form)
			if p.Status != http.StatusOK && p.Status != http.StatusBadRequest {
				t.Errorf("status %d, want 200 or 400", p.Status)
			}
			if p.Path != "/register" {
				t.Errorf("ended at %s, want the form at /register", p.Path)
			}
			uiWantContains(t, p, tc.want)
			for _, other := range allErrors {
				if other != tc.want {
					uiWantLacks(t, p, other)
				}
			}
			uiWantFlashes(t, p)
			// The form keeps what was typed, except the passwords.
			if u := tc.form.Get("username"); u != "" {
				uiWantContains(t, p, `value="`+u+`"`)
			}
			if e := tc.form.Get("email"); e != "" {
				uiWantContains(t, p, `value="`+e+`"`)
			}
			for _, pw := range []string{tc.form.Get("password"), tc.form.Get("password2")} {
				if pw != "" {
					uiWantLacks(t, p, pw)
				}
			}
			if u := tc.form.Get("username"); u != "" && u != "taken" {
				if _, ok := uiUser(t, n, u); ok {
					t.Errorf("user %q was created by a refused registration", u)
				}
			}
		})
	}

	t.Run("success", func(t *testing.T) {
		t.Parallel()
		s := uiClient(t, base)
		p := s.postStay(t, "/register", reg("newbie", "newbie@example.com", "newbie-pw", "newbie-pw"))
		uiWantRedirect(t, p, "/login")
		p = s.get(t, "/login")
		uiWantStatus(t, p, http.StatusOK)
		uiWantFlashes(t, p, uiFlashRegistered)
		// A flash is shown once.
		uiWantFlashes(t, s.get(t, "/login"))
		u, ok := uiUser(t, n, "newbie")
		if !ok || u.Email != "newbie@example.com" {
			t.Errorf("store has %+v (found %v), want newbie with its email", u, ok)
		}
		// The course's tests follow the redirect in one go.
		uiRegister(t, uiClient(t, base), "newbie2", "newbie2@example.com", "pw")
	})

	for _, name := range []string{"public", "login", "logout", "register", "add_message", "api", "admin", "Admin", "static", "metrics", "healthz"} {
		t.Run("reserved "+name, func(t *testing.T) {
			t.Parallel()
			s := uiClient(t, base)
			p := s.post(t, "/register", reg(name, "r-"+strings.ToLower(name)+"@example.com", "reserved-pw", "reserved-pw"))
			if p.Path != "/register" {
				t.Errorf("registering %q ended at %s, want the form with an error", name, p.Path)
			}
			uiWantFlashes(t, p)
			if p.Status != http.StatusOK && p.Status != http.StatusBadRequest {
				t.Errorf("status %d, want 200 or 400", p.Status)
			}
			if _, ok := uiUser(t, n, name); ok {
				t.Errorf("reserved name %q was registered", name)
			}
		})
	}

	t.Run("logged in", func(t *testing.T) {
		t.Parallel()
		s := uiSignup(t, base, "already")
		uiWantRedirect(t, s.getStay(t, "/register"), "/")
		p := s.postStay(t, "/register", reg("second", "second@example.com", "second-pw", "second-pw"))
		uiWantRedirect(t, p, "/")
		if _, ok := uiUser(t, n, "second"); ok {
			t.Error("a logged-in user registered another account")
		}
		p = s.get(t, "/register")
		if p.Path != "/" {
			t.Errorf("GET /register while logged in ended at %s, want /", p.Path)
		}
	})
}

func TestUILoginLogout(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	uiRegister(t, uiClient(t, base), "alice", "alice@example.com", "alice-pw")

	refusals := []struct {
		name, user, password, want string
	}{
		{"unknown user", "nobody", "whatever-pw", uiErrBadUser},
		{"empty form", "", "", uiErrBadUser},
		{"wrong password", "alice", "wrong-pw", uiErrBadPass},
		{"empty password", "alice", "", uiErrBadPass},
		{"name in another case", "Alice", "alice-pw", uiErrBadUser},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := uiClient(t, base)
			p := s.post(t, "/login", uiForm("username", tc.user, "password", tc.password))
			if p.Path != "/login" {
				t.Errorf("ended at %s, want the form at /login", p.Path)
			}
			uiWantContains(t, p, tc.want)
			uiWantLacks(t, p, map[string]string{uiErrBadUser: uiErrBadPass, uiErrBadPass: uiErrBadUser}[tc.want])
			uiWantFlashes(t, p)
			if tc.user != "" {
				uiWantContains(t, p, `value="`+tc.user+`"`)
			}
			if tc.password != "" {
				uiWantLacks(t, p, tc.password)
			}
			uiWantRedirect(t, s.getStay(t, "/"), "/public")
		})
	}

	t.Run("login, flash, logout", func(t *testing.T) {
		t.Parallel()
		s := uiClient(t, base)
		p := s.postStay(t, "/login", uiForm("username", "alice", "password", "alice-pw"))
		uiWantRedirect(t, p, "/")
		p = s.get(t, "/")
		uiWantStatus(t, p, http.StatusOK)
		uiWantFlashes(t, p, uiFlashLoggedIn)
		uiWantContains(t, p, "My Timeline")
		uiWantFlashes(t, s.get(t, "/")) // shown once

		uiWantRedirect(t, s.getStay(t, "/login"), "/")
		uiWantRedirect(t, s.postStay(t, "/login", uiForm("username", "alice", "password", "alice-pw")), "/")

		uiWantRedirect(t, s.getStay(t, "/logout"), "/public")
		p = s.get(t, "/public")
		uiWantFlashes(t, p, uiFlashLoggedOut)
		uiWantContains(t, p, "Public Timeline")
		uiWantRedirect(t, s.getStay(t, "/"), "/public")
		uiWantStatus(t, s.post(t, "/add_message", uiForm("text", "after logout")), http.StatusUnauthorized)
	})

	t.Run("course style", func(t *testing.T) {
		t.Parallel()
		// Its own user: a sign-out ends every session of the user, and
		// alice's is signing in and out beside this one.
		s := uiClient(t, base)
		uiRegister(t, s, "carol", "carol@example.com", "carol-pw")
		uiLogin(t, s, "carol", "carol-pw")
		p := s.get(t, "/logout")
		if p.Path != "/public" {
			t.Errorf("logout ended at %s, want /public", p.Path)
		}
		uiWantFlashes(t, p, uiFlashLoggedOut)
	})

	t.Run("anonymous logout", func(t *testing.T) {
		t.Parallel()
		s := uiClient(t, base)
		uiWantRedirect(t, s.getStay(t, "/logout"), "/public")
		uiWantFlashes(t, s.get(t, "/public"), uiFlashLoggedOut)
	})
}

func TestUIMessages(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	s := uiSignup(t, base, "poster")
	count := func() uint64 { return uiCounts(t, n).Messages }

	t.Run("recorded and shown", func(t *testing.T) {
		before := count()
		uiPostMessage(t, s, "Hello from poster, first of all")
		if got := count(); got != before+1 {
			t.Errorf("store has %d messages, want %d", got, before+1)
		}
		for _, path := range []string{"/", "/public", "/poster"} {
			p := s.get(t, path)
			uiWantStatus(t, p, http.StatusOK)
			uiWantContains(t, p, "Hello from poster, first of all")
		}
		uiWantContains(t, uiClient(t, base).get(t, "/public"), "Hello from poster, first of all")
	})

	t.Run("empty text records nothing", func(t *testing.T) {
		for _, form := range []url.Values{uiForm("text", ""), {}} {
			before := count()
			p := s.post(t, "/add_message", form)
			if p.Path != "/" {
				t.Errorf("ended at %s, want /", p.Path)
			}
			uiWantStatus(t, p, http.StatusOK)
			uiWantFlashes(t, p)
			if got := count(); got != before {
				t.Errorf("store has %d messages, want %d", got, before)
			}
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		before := count()
		a := uiClient(t, base)
		uiWantStatus(t, a.postStay(t, "/add_message", uiForm("text", "anonymous words")), http.StatusUnauthorized)
		if got := count(); got != before {
			t.Errorf("store has %d messages, want %d", got, before)
		}
	})

	t.Run("escaped", func(t *testing.T) {
		uiPostMessage(t, s, "<test message 2>")
		uiPostMessage(t, s, `<script>alert("pwned")</script>`)
		for _, path := range []string{"/", "/public", "/poster"} {
			p := s.get(t, path)
			uiWantContains(t, p, "&lt;test message 2&gt;", "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;")
			uiWantLacks(t, p, "<test message 2>")
			if uiScriptRE.MatchString(p.Body) {
				t.Errorf("%s: a raw <script appears in the page", path)
			}
		}
	})

	t.Run("escaped usernames", func(t *testing.T) {
		const quoted, scripted = `say"hi`, `<script>alert(1)`
		for _, name := range []string{quoted, scripted} {
			w := uiSignup(t, base, name)
			uiPostMessage(t, w, "words of "+name)
		}
		// The follow flash carries the name inside literal quotes; all of
		// them come out as &#34;.
		p := s.get(t, uiPath(quoted)+"/follow")
		if p.Path != uiPath(quoted) {
			t.Errorf("follow ended at %s, want %s", p.Path, uiPath(quoted))
		}
		if got, want := uiRawFlashes(p.Body), []string{"You are now following &#34;say&#34;hi&#34;"}; !slices.Equal(got, want) {
			t.Errorf("raw flashes = %q, want %q", got, want)
		}
		uiWantFlashes(t, p, uiFlashFollowing(quoted))

		p = s.get(t, uiPath(scripted)+"/follow")
		uiWantFlashes(t, p, uiFlashFollowing(scripted))
		uiWantContains(t, p, "You are now following &#34;&lt;script&gt;alert(1)&#34;", "&lt;script&gt;alert(1)'s Timeline")
		for _, p := range []uiPage{p, s.get(t, "/"), s.get(t, "/public"), uiClient(t, base).get(t, uiPath(scripted))} {
			uiWantStatus(t, p, http.StatusOK)
			if uiScriptRE.MatchString(p.Body) {
				t.Errorf("%s: a raw <script appears in the page", p.Path)
			}
		}
		// Logged in as the script-named user, the navigation shows the
		// name too.
		w := uiClient(t, base)
		uiLogin(t, w, scripted, uiPassword(scripted))
		if p := w.get(t, "/"); uiScriptRE.MatchString(p.Body) {
			t.Errorf("/ of %q: a raw <script appears in the page", scripted)
		}
	})
}

func TestUITimelines(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	anon := uiClient(t, base)

	t.Run("anonymous on an empty node", func(t *testing.T) {
		uiWantRedirect(t, anon.getStay(t, "/"), "/public")
		p := anon.get(t, "/")
		if p.Path != "/public" {
			t.Errorf("GET / ended at %s, want /public", p.Path)
		}
		uiWantStatus(t, p, http.StatusOK)
		uiWantContains(t, p, "MiniTwit", "Public Timeline", uiNoMessages)
		uiWantLacks(t, p, "What's on your mind", "My Timeline")
	})

	foo := uiSignup(t, base, "foo")
	bar := uiSignup(t, base, "bar")

	t.Run("own pages", func(t *testing.T) {
		p := foo.get(t, "/")
		uiWantStatus(t, p, http.StatusOK)
		uiWantContains(t, p, "MiniTwit", "My Timeline", "What's on your mind foo?", "Share", uiNoMessages)

		p = foo.get(t, "/foo")
		uiWantStatus(t, p, http.StatusOK)
		uiWantContains(t, p, "foo's Timeline", uiThisIsYou, uiNoMessages)
		uiWantLacks(t, p, uiNotFollowing, uiFollowing, uiFollowBtn, uiUnfollowBtn, "What's on your mind")

		p = foo.get(t, "/public")
		uiWantContains(t, p, "Public Timeline")
		uiWantLacks(t, p, "What's on your mind", "My Timeline")
	})

	uiPostMessage(t, bar, "the message from bar")

	t.Run("someone else's page", func(t *testing.T) {
		p := foo.get(t, "/bar")
		uiWantStatus(t, p, http.StatusOK)
		uiWantContains(t, p, "bar's Timeline", uiNotFollowing, uiFollowBtn, "the message from bar")
		uiWantLacks(t, p, uiFollowing, uiUnfollowBtn, uiThisIsYou)

		p = anon.get(t, "/bar")
		uiWantStatus(t, p, http.StatusOK)
		uiWantContains(t, p, "bar's Timeline", "the message from bar")
		uiWantLacks(t, p, uiNotFollowing, uiFollowing, uiFollowBtn, uiUnfollowBtn, uiThisIsYou)

		uiWantLacks(t, foo.get(t, "/"), "the message from bar")
		uiWantContains(t, anon.get(t, "/public"), "the message from bar")
	})

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run("follow and unfollow by "+method, func(t *testing.T) {
			p := foo.do(t, foo.stay, method, "/bar/follow", nil, nil)
			uiWantRedirect(t, p, "/bar")
			p = foo.get(t, "/bar")
			uiWantFlashes(t, p, uiFlashFollowing("bar"))
			uiWantContains(t, p, uiFollowing, uiUnfollowBtn)
			uiWantLacks(t, p, uiNotFollowing)
			if !uiIsFollowing(t, n, "foo", "bar") {
				t.Error("store: foo does not follow bar")
			}
			uiWantContains(t, foo.get(t, "/"), "the message from bar")

			// Following twice is harmless and says the same.
			p = foo.do(t, foo.follow, method, "/bar/follow", nil, nil)
			uiWantFlashes(t, p, uiFlashFollowing("bar"))

			p = foo.do(t, foo.follow, method, "/bar/unfollow", nil, nil)
			if p.Path != "/bar" {
				t.Errorf("unfollow ended at %s, want /bar", p.Path)
			}
			uiWantFlashes(t, p, uiFlashUnfollowing("bar"))
			uiWantContains(t, p, uiNotFollowing, uiFollowBtn)
			if uiIsFollowing(t, n, "foo", "bar") {
				t.Error("store: foo still follows bar")
			}
			uiWantLacks(t, foo.get(t, "/"), "the message from bar")
			uiWantContains(t, foo.get(t, "/bar"), "the message from bar")

			// Unfollowing someone not followed is harmless too.
			p = foo.do(t, foo.follow, method, "/bar/unfollow", nil, nil)
			uiWantStatus(t, p, http.StatusOK)
			uiWantFlashes(t, p, uiFlashUnfollowing("bar"))
		})
	}

	t.Run("the profile's own follow form", func(t *testing.T) {
		// The Follow user control posts to the path in its form's action.
		p := foo.get(t, "/bar")
		m := regexp.MustCompile(`<form[^>]*action="([^"]*)"[^>]*method="post"[^>]*>\s*<button[^>]*>Follow user`).FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatalf("no POST form around %q on /bar", uiFollowBtn)
		}
		p = foo.post(t, html.UnescapeString(m[1]), url.Values{})
		uiWantFlashes(t, p, uiFlashFollowing("bar"))
		m = regexp.MustCompile(`<form[^>]*action="([^"]*)"[^>]*method="post"[^>]*>\s*<button[^>]*>Unfollow user`).FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatalf("no POST form around %q on /bar", uiUnfollowBtn)
		}
		p = foo.post(t, html.UnescapeString(m[1]), url.Values{})
		uiWantFlashes(t, p, uiFlashUnfollowing("bar"))
	})

	t.Run("anonymous follow", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			for _, path := range []string{"/bar/follow", "/bar/unfollow"} {
				p := anon.do(t, anon.stay, method, path, nil, nil)
				if p.Status != http.StatusUnauthorized {
					t.Errorf("anonymous %s %s: status %d, want 401", method, path, p.Status)
				}
			}
		}
		if c := uiCounts(t, n); c.Follows != 0 {
			t.Errorf("store has %d follows, want 0", c.Follows)
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		uiWantStatus(t, anon.get(t, "/nobody"), http.StatusNotFound)
		uiWantStatus(t, foo.get(t, "/nobody"), http.StatusNotFound)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			for _, path := range []string{"/nobody/follow", "/nobody/unfollow"} {
				p := foo.do(t, foo.stay, method, path, nil, nil)
				if p.Status != http.StatusNotFound {
					t.Errorf("%s %s: status %d, want 404", method, path, p.Status)
				}
			}
		}
	})

	t.Run("names with spaces, avatar and date", func(t *testing.T) {
		const name = "Roger Histand"
		roger := uiClient(t, base)
		// The avatar hashes the trimmed, lower-cased address.
		uiRegister(t, roger, name, "  Roger.Histand@Example.COM ", "roger-pw")
		uiLogin(t, roger, name, "roger-pw")
		uiPostMessage(t, roger, "Roger was here")
		msgs := uiUserMessages(t, n, name)
		if len(msgs) != 1 {
			t.Fatalf("store has %d messages of %q, want 1", len(msgs), name)
		}
		if d := time.Since(time.Unix(msgs[0].PubDate, 0)); d < -time.Minute || d > time.Minute {
			t.Errorf("the message's date %d is %v away from now", msgs[0].PubDate, d)
		}
		sum := sha256.Sum256([]byte("roger.histand@example.com"))
		avatar := regexp.MustCompile(`<img src="/static/avatar/` + hex.EncodeToString(sum[:16]) + `"`)
		date := time.Unix(msgs[0].PubDate, 0).UTC().Format("2006-01-02 @ 15:04")

		for _, path := range []string{"/Roger%20Histand", "/public", "/"} {
			p := roger.get(t, path)
			uiWantStatus(t, p, http.StatusOK)
			uiWantContains(t, p, "Roger was here", `href="/Roger%20Histand"`, date)
			if !avatar.MatchString(p.Body) {
				t.Errorf("%s: no avatar %s in the page", path, avatar)
			}
			if strings.Contains(p.Body, "gravatar.com") {
				t.Errorf("%s links to gravatar.com without ui.gravatar", path)
			}
			if !uiDateRE.MatchString(p.Body) {
				t.Errorf("%s: no date as YYYY-MM-DD @ HH:MM", path)
			}
		}
		uiWantContains(t, anon.get(t, "/Roger%20Histand"), "Roger Histand's Timeline")

		p := foo.postStay(t, "/Roger%20Histand/follow", url.Values{})
		uiWantRedirect(t, p, "/Roger%20Histand")
		p = foo.get(t, p.Location)
		uiWantFlashes(t, p, uiFlashFollowing(name))
		uiWantContains(t, p, uiFollowing)
		uiWantContains(t, foo.get(t, "/"), "Roger was here")
	})
}

func TestUIMarkup(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	s := uiClient(t, base)

	type input struct{ name, typ string }
	forms := []struct {
		path string
		want []input
	}{
		{"/register", []input{{"username", "text"}, {"email", "text"}, {"password", "password"}, {"password2", "password"}, {"", "submit"}}},
		{"/login", []input{{"username", "text"}, {"password", "password"}, {"", "submit"}}},
	}
	for _, f := range forms {
		t.Run(f.path, func(t *testing.T) {
			p := s.get(t, f.path)
			uiWantStatus(t, p, http.StatusOK)
			// The course's Selenium tests take the page's inputs in order.
			locs := uiInputRE.FindAllStringIndex(p.Body, -1)
			var got []input
			for _, l := range locs {
				var in input
				for _, a := range uiAttrRE.FindAllStringSubmatch(p.Body[l[0]:l[1]], -1) {
					switch a[1] {
					case "name":
						in.name = a[2]
					case "type":
						in.typ = a[2]
					}
				}
				if in.typ == "submit" {
					in.name = ""
				}
				got = append(got, in)
			}
			if !slices.Equal(got, f.want) {
				t.Fatalf("inputs = %v, want %v", got, f.want)
			}
			// The submit button sits inside <div class="actions">.
			submitAt := locs[len(locs)-1][0]
			open := strings.LastIndex(p.Body[:submitAt], `<div class="actions">`)
			if open < 0 || strings.Contains(p.Body[open:submitAt], "</div>") {
				t.Errorf("the submit input is not inside <div class=\"actions\">")
			}
		})
	}

	t.Run("flashes", func(t *testing.T) {
		uiRegister(t, s, "marker", "marker@example.com", "marker-pw")
		p := s.post(t, "/login", uiForm("username", "marker", "password", "marker-pw"))
		m := regexp.MustCompile(`(?s)<ul class="flashes">\s*<li>\s*You were logged in\s*</li>\s*</ul>`)
		if !m.MatchString(p.Body) {
			t.Errorf("the flash is not a <li> of <ul class=\"flashes\">:\n%s", p.Body)
		}
		uiWantLacks(t, s.get(t, "/"), `class="flashes"`)
	})

	t.Run("post box", func(t *testing.T) {
		p := s.get(t, "/")
		if !regexp.MustCompile(`<form[^>]*action="/add_message"[^>]*method="post"`).MatchString(p.Body) {
			t.Error("no POST form to /add_message on My Timeline")
		}
		if !regexp.MustCompile(`<input[^>]*name="text"`).MatchString(p.Body) {
			t.Error("no text input named text in the post box")
		}
		if !regexp.MustCompile(`<input[^>]*type="submit"[^>]*value="Share"|<button[^>]*>\s*Share\s*</button>`).MatchString(p.Body) {
			t.Error("no Share button in the post box")
		}
	})
}

func TestUIPagination(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	s := uiSignup(t, base, "pager")
	const total = 65
	for i := range total {
		p := s.postStay(t, "/add_message", uiForm("text", fmt.Sprintf("page-msg-%02d", i)))
		uiWantRedirect(t, p, "/")
	}
	msgRE := regexp.MustCompile(`page-msg-(\d\d)`)
	numbers := func(body string) []string {
		var out []string
		for _, m := range msgRE.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	want := func(from, to int) []string { // newest first
		var out []string
		for i := from; i >= to; i-- {
			out = append(out, fmt.Sprintf("%02d", i))
		}
		return out
	}
	pages := [][]string{want(64, 35), want(34, 5), want(4, 0)}

	for _, start := range []string{"/", "/public", "/pager"} {
		t.Run(start, func(t *testing.T) {
			t.Parallel()
			c := s
			path := start
			seen := map[string]bool{}
			for i, wantNums := range pages {
				p := c.get(t, path)
				uiWantStatus(t, p, http.StatusOK)
				got := numbers(p.Body)
				if !slices.Equal(got, wantNums) {
					t.Fatalf("page %d (%s): messages %v, want %v", i+1, path, got, wantNums)
				}
				for _, g := range got {
					if seen[g] {
						t.Errorf("page %d repeats message %s", i+1, g)
					}
					seen[g] = true
				}
				link := uiOlderRE.FindStringSubmatch(p.Body)
				if i == len(pages)-1 {
					if link != nil {
						t.Errorf("last page %s links to %s, want no older link", path, link[1])
					}
					uiWantLacks(t, p, "Older messages")
					break
				}
				if link == nil {
					t.Fatalf("page %d (%s) has no ?before= link", i+1, path)
				}
				uiWantContains(t, p, "Older messages")
				u, err := url.Parse(p.Path)
				if err != nil {
					t.Fatal(err)
				}
				next, err := u.Parse(html.UnescapeString(link[1]))
				if err != nil {
					t.Fatal(err)
				}
				if next.Path != start || next.Query().Get("before") == "" {
					t.Fatalf("older link %q resolves to %s, want %s?before=...", link[1], next, start)
				}
				path = next.RequestURI()
			}
			if len(seen) != total {
				t.Errorf("saw %d distinct messages over the pages, want %d", len(seen), total)
			}
		})
	}
}

func TestUISecurity(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	victim := uiSignup(t, base, "victim")
	uiSignup(t, base, "target")
	uiSignup(t, base, "followed")
	if p := victim.get(t, "/followed/follow"); !slices.Equal(uiFlashes(p.Body), []string{uiFlashFollowing("followed")}) {
		t.Fatalf("setting up: victim could not follow followed (%s, %q)", p.Path, uiFlashes(p.Body))
	}

	const evil = "https://evil.example"
	crossSite := map[string]string{"Origin": evil, "Sec-Fetch-Site": "cross-site"}
	cases := []struct {
		name    string
		anon    bool // send without the victim's session
		method  string
		path    string
		form    url.Values
		header  map[string]string
		changed func() bool // reports a change the refused request must not make
	}{
		{"POST add_message", false, http.MethodPost, "/add_message", uiForm("text", "forged message"), crossSite,
			func() bool { return uiCounts(t, n).Messages != 0 }},
		{"POST add_message, Origin only", false, http.MethodPost, "/add_message", uiForm("text", "forged message"),
			map[string]string{"Origin": evil}, func() bool { return uiCounts(t, n).Messages != 0 }},
		{"POST follow", false, http.MethodPost, "/target/follow", url.Values{}, crossSite,
			func() bool { return uiIsFollowing(t, n, "victim", "target") }},
		{"POST follow, Origin only", false, http.MethodPost, "/target/follow", url.Values{},
			map[string]string{"Origin": evil}, func() bool { return uiIsFollowing(t, n, "victim", "target") }},
		{"GET follow", false, http.MethodGet, "/target/follow", nil, map[string]string{"Sec-Fetch-Site": "cross-site"},
			func() bool { return uiIsFollowing(t, n, "victim", "target") }},
		{"POST unfollow", false, http.MethodPost, "/followed/unfollow", url.Values{}, crossSite,
			func() bool { return !uiIsFollowing(t, n, "victim", "followed") }},
		{"GET unfollow", false, http.MethodGet, "/followed/unfollow", nil, map[string]string{"Sec-Fetch-Site": "cross-site"},
			func() bool { return !uiIsFollowing(t, n, "victim", "followed") }},
		{"POST register", true, http.MethodPost, "/register",
			uiForm("username", "forged", "email", "forged@example.com", "password", "pw", "password2", "pw"), crossSite,
			func() bool { _, ok := uiUser(t, n, "forged"); return ok }},
	}
	for _, tc := range cases {
		t.Run("cross-site "+tc.name, func(t *testing.T) {
			s := victim
			if tc.anon {
				s = uiClient(t, base)
			}
			p := s.do(t, s.stay, tc.method, tc.path, tc.form, tc.header)
			uiWantStatus(t, p, http.StatusForbidden)
			if tc.changed() {
				t.Errorf("the refused request changed the state")
			}
		})
	}

	t.Run("HEAD follow changes nothing", func(t *testing.T) {
		// The GET pattern matches HEAD too; a safe method must not follow.
		for _, header := range []map[string]string{nil, {"Sec-Fetch-Site": "same-site"}} {
			p := victim.do(t, victim.stay, http.MethodHead, "/target/follow", nil, header)
			uiWantStatus(t, p, http.StatusMethodNotAllowed)
			if uiIsFollowing(t, n, "victim", "target") {
				t.Fatal("HEAD /target/follow made the victim follow target")
			}
		}
	})

	t.Run("cross-site POST login sets no session", func(t *testing.T) {
		s := uiClient(t, base)
		p := s.do(t, s.stay, http.MethodPost, "/login", uiForm("username", "victim", "password", uiPassword("victim")), crossSite)
		uiWantStatus(t, p, http.StatusForbidden)
		uiWantRedirect(t, s.getStay(t, "/"), "/public")
	})

	t.Run("same-origin requests pass", func(t *testing.T) {
		sameOrigin := map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"}
		p := victim.do(t, victim.stay, http.MethodPost, "/add_message", uiForm("text", "a real message"), sameOrigin)
		uiWantRedirect(t, p, "/")
		p = victim.do(t, victim.stay, http.MethodPost, "/target/follow", url.Values{}, sameOrigin)
		uiWantRedirect(t, p, "/target")
		p = victim.do(t, victim.stay, http.MethodGet, "/target/unfollow", nil, map[string]string{"Sec-Fetch-Site": "same-origin"})
		uiWantRedirect(t, p, "/target")
		if c := uiCounts(t, n); c.Messages != 1 || uiIsFollowing(t, n, "victim", "target") {
			t.Errorf("store: %d messages (want 1), victim follows target: %v (want false)", c.Messages, uiIsFollowing(t, n, "victim", "target"))
		}
		// A typed-in address (Sec-Fetch-Site: none) is the user's own doing.
		p = victim.do(t, victim.stay, http.MethodGet, "/target/follow", nil, map[string]string{"Sec-Fetch-Site": "none"})
		uiWantRedirect(t, p, "/target")
		victim.get(t, "/target/unfollow")
	})

	t.Run("cookie attributes", func(t *testing.T) {
		s := uiClient(t, base)
		p := s.postStay(t, "/login", uiForm("username", "victim", "password", uiPassword("victim")))
		uiWantRedirect(t, p, "/")
		if len(p.Cookies) == 0 {
			t.Fatal("login set no cookie")
		}
		for _, c := range p.Cookies {
			// The same-site companion of the session is Strict; the rest Lax.
			want := http.SameSiteLaxMode
			if c.Name == "minitwit_same_site" {
				want = http.SameSiteStrictMode
			}
			if !c.HttpOnly || c.SameSite != want {
				t.Errorf("cookie %s: HttpOnly=%v SameSite=%v, want HttpOnly and SameSite=%v", c.Name, c.HttpOnly, c.SameSite, want)
			}
			// Over plain HTTP a Secure cookie would never come back.
			if c.Secure {
				t.Errorf("cookie %s is Secure on a plain-HTTP listener", c.Name)
			}
		}
	})

	t.Run("tampered session", func(t *testing.T) {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		orig := victim.jar.Cookies(u)
		if len(orig) == 0 {
			t.Fatal("the victim's jar holds no cookie")
		}
		flip := func(b byte) byte {
			if b == 'A' {
				return 'B'
			}
			return 'A'
		}
		tamper := map[string]func(string) string{
			"first byte": func(v string) string { return string(flip(v[0])) + v[1:] },
			"middle byte": func(v string) string {
				i := len(v) / 2
				return v[:i] + string(flip(v[i])) + v[i+1:]
			},
			"next-to-last byte": func(v string) string {
				i := len(v) - 2
				return v[:i] + string(flip(v[i])) + v[i+1:]
			},
			"truncated": func(v string) string { return v[:len(v)-4] },
			"extended":  func(v string) string { return v + "AAAA" },
			"garbage":   func(string) string { return "not-a-session" },
			"empty":     func(string) string { return "" },
		}
		for name, change := range tamper {
			t.Run(name, func(t *testing.T) {
				s := uiClient(t, base)
				var cs []*http.Cookie
				for _, c := range orig {
					cs = append(cs, &http.Cookie{Name: c.Name, Value: change(c.Value)})
				}
				s.jar.SetCookies(u, cs)
				uiWantRedirect(t, s.getStay(t, "/"), "/public")
				p := s.get(t, "/victim")
				uiWantStatus(t, p, http.StatusOK)
				uiWantLacks(t, p, uiThisIsYou, "sign out")
				before := uiCounts(t, n).Messages
				uiWantStatus(t, s.postStay(t, "/add_message", uiForm("text", "tampered")), http.StatusUnauthorized)
				if got := uiCounts(t, n).Messages; got != before {
					t.Errorf("store has %d messages, want %d", got, before)
				}
			})
		}
		// The untouched cookie still works.
		uiWantContains(t, victim.get(t, "/"), "My Timeline", "What's on your mind victim?")
	})
}

func TestUISessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n1 := nodetest.Start(t, web, nodetest.Config(dir))
	s := uiSignup(t, "http://"+n1.HTTPAddr(), "stayer")
	uiPostMessage(t, s, "written before the restart")

	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	if err := n1.Close(ctx); err != nil {
		t.Fatalf("closing the first node: %v", err)
	}
	n2 := nodetest.Start(t, web, nodetest.Config(dir))
	// The jar keys cookies by host, not port: the new listener gets them.
	s.base = "http://" + n2.HTTPAddr()

	p := s.getStay(t, "/")
	uiWantStatus(t, p, http.StatusOK)
	uiWantContains(t, p, "My Timeline", "What's on your mind stayer?", "written before the restart")
	uiPostMessage(t, s, "written after the restart")
	if got := len(uiUserMessages(t, n2, "stayer")); got != 2 {
		t.Errorf("store has %d messages of stayer, want 2", got)
	}
}

// TestUIUnusualNames checks that every name the form accepts gets a page that
// works: reachable at /{PathEscape(name)}, linked from its messages, and
// followable. A name may instead be refused at registration.
func TestUIUnusualNames(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	uiRegister(t, uiClient(t, base), "viewer", uiEmail("viewer"), uiPassword("viewer"))
	for _, name := range []string{"with space", "100%", "what?", "hash#tag", "trailing ", "~tilde", "dot.", "O'Brien", ".", ".."} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := uiClient(t, base)
			p := s.post(t, "/register", uiForm("username", name, "email", uiEmail(name), "password", "pw", "password2", "pw"))
			if p.Path == "/register" {
				if _, ok := uiUser(t, n, name); ok {
					t.Fatalf("%q: the form was refused but the user exists", name)
				}
				return // refused: fine
			}
			uiWantFlashes(t, p, uiFlashRegistered)
			uiLogin(t, s, name, "pw")
			uiPostMessage(t, s, "a message by "+name)
			// Each case its own viewer session: flashes live in the jar.
			viewer := uiClient(t, base)
			uiLogin(t, viewer, "viewer", uiPassword("viewer"))

			path := uiPath(name)
			p = viewer.get(t, path)
			if p.Status != http.StatusOK || p.Path != path {
				t.Fatalf("%q was registered, but GET %s ends at %s with status %d: the user's page is unreachable",
					name, path, p.Path, p.Status)
			}
			uiWantContains(t, p, html.EscapeString(name)+"'s Timeline", uiNotFollowing, "a message by")
			link := `href="` + html.EscapeString(path) + `"`
			uiWantContains(t, viewer.get(t, "/public"), link)

			p = viewer.postStay(t, path+"/follow", url.Values{})
			uiWantRedirect(t, p, path)
			if !uiIsFollowing(t, n, "viewer", name) {
				t.Errorf("store: viewer does not follow %q", name)
			}
			uiWantFlashes(t, viewer.get(t, p.Location), uiFlashFollowing(name))
		})
	}
}
