package simulate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"minitwit/ops/testbuf"
	"minitwit/ops/testwait"
)

// orderedScenario makes a scenario where users register at different points
// and then tweet ("1", "2", ...), follow and unfollow, interleaved.
func orderedScenario(users, n int) []Action {
	rng := rand.New(rand.NewPCG(1, 2))
	var actions []Action
	var registered []string
	tweets := map[string]int{}
	for id := 0; id < n; id++ {
		if len(registered) < users && (len(registered) < 2 || rng.IntN(10) == 0) {
			u := fmt.Sprintf("user %d ö", len(registered))
			registered = append(registered, u)
			actions = append(actions, Action{ID: id, Command: CmdRegister, User: u, Arg: u + "@example.dk", Password: "pw"})
			continue
		}
		u := registered[rng.IntN(len(registered))]
		switch rng.IntN(3) {
		case 0:
			tweets[u]++
			actions = append(actions, Action{ID: id, Command: CmdTweet, User: u, Arg: strconv.Itoa(tweets[u])})
		case 1:
			actions = append(actions, Action{ID: id, Command: CmdFollow, User: u, Arg: registered[rng.IntN(len(registered))]})
		default:
			actions = append(actions, Action{ID: id, Command: CmdUnfollow, User: u, Arg: registered[rng.IntN(len(registered))]})
		}
	}
	return actions
}

// orderChecker is a server that fails every request arriving out of the order
// the contract of Run promises.
type orderChecker struct {
	total int

	mu          sync.Mutex
	problems    []string
	inFlight    int
	maxInFlight int
	completed   int
	registered  map[string]bool // register answered
	lastID      map[string]int  // per acting user
	lastTweet   map[string]int
	latest      int
}

func (c *orderChecker) problem(format string, a ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, a...))
}

func (c *orderChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("latest"))
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	user := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/msgs/"), "/fllws/")
	isRegister := r.URL.Path == "/register"
	if isRegister {
		user = body["username"]
	}

	c.mu.Lock()
	c.inFlight++
	c.maxInFlight = max(c.maxInFlight, c.inFlight)
	c.latest = id
	alone := isRegister || id == c.total-1
	switch {
	case alone && c.inFlight != 1:
		c.problem("action %d (a barrier) runs alongside %d others", id, c.inFlight-1)
	case alone && c.completed != id:
		c.problem("action %d (a barrier) arrives after %d completed, want %d", id, c.completed, id)
	}
	if !isRegister {
		if !c.registered[user] {
			c.problem("action %d for %q arrives before its register completed", id, user)
		}
		if other := body["follow"] + body["unfollow"]; other != "" && !c.registered[other] {
			c.problem("action %d follows %q before its register completed", id, other)
		}
	}
	if last, ok := c.lastID[user]; ok && last > id {
		c.problem("action %d for %q arrives after its action %d", id, user, last)
	}
	c.lastID[user] = id
	if n, err := strconv.Atoi(body["content"]); err == nil {
		if n != c.lastTweet[user]+1 {
			c.problem("tweet %d of %q arrives after tweet %d", n, user, c.lastTweet[user])
		}
		c.lastTweet[user] = n
	}
	c.mu.Unlock()

	// Uneven service times shuffle whatever the client does not order.
	time.Sleep(time.Duration(id%4) * 200 * time.Microsecond)

	c.mu.Lock()
	if isRegister {
		c.registered[user] = true
	}
	c.inFlight--
	c.completed++
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func TestOrderUnderConcurrency(t *testing.T) {
	t.Parallel()
	actions := orderedScenario(30, 1500)
	c := &orderChecker{
		total:      len(actions),
		registered: map[string]bool{},
		lastID:     map[string]int{},
		lastTweet:  map[string]int{},
	}
	srv := httptest.NewServer(c)
	defer srv.Close()

	s, err := Run(context.Background(), actions, Options{BaseURL: srv.URL, Concurrency: 8, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.problems {
		t.Error(p)
	}
	if s.Requests != len(actions) || s.Errors != 0 {
		t.Errorf("%d requests, %d errors; want %d and 0", s.Requests, s.Errors, len(actions))
	}
	if c.latest != len(actions)-1 {
		t.Errorf("the last latest the server saw is %d, want %d", c.latest, len(actions)-1)
	}
	if c.maxInFlight < 2 {
		t.Errorf("at most %d request in flight: concurrency 8 did not run anything in parallel", c.maxInFlight)
	}
}

func TestSequentialByDefault(t *testing.T) {
	t.Parallel()
	actions := orderedScenario(5, 100)
	c := &orderChecker{total: len(actions), registered: map[string]bool{}, lastID: map[string]int{}, lastTweet: map[string]int{}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	if _, err := Run(context.Background(), actions, Options{BaseURL: srv.URL, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.problems {
		t.Error(p)
	}
	if c.maxInFlight != 1 {
		t.Errorf("%d requests in flight at once with concurrency 1", c.maxInFlight)
	}
}

const tsPattern = `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`

func TestErrorsByStatusAndTimeout(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/register", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Username string }
		json.NewDecoder(r.Body).Decode(&b)
		switch b.Username {
		case "taken":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":400,"error_msg":"The username is already taken"}`)
		case "broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /api/msgs/{user}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("user") {
		case "fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "missing":
			w.WriteHeader(http.StatusNotFound)
		case "slow":
			waitFor(r)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /api/fllws/{user}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest) // a 400 is accepted for register only
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	actions := []Action{
		{ID: 1, Command: CmdRegister, User: "new", Arg: "a@b.c", Password: "p"},
		{ID: 2, Command: CmdRegister, User: "taken", Arg: "a@b.c", Password: "p"},
		{ID: 3, Command: CmdRegister, User: "broken", Arg: "a@b.c", Password: "p"},
		{ID: 4, Command: CmdTweet, User: "ok", Arg: "x"},
		{ID: 5, Command: CmdTweet, User: "fail", Arg: "x"},
		{ID: 6, Command: CmdTweet, User: "missing", Arg: "x"},
		{ID: 7, Command: CmdTweet, User: "slow", Arg: "x"},
		{ID: 8, Command: CmdFollow, User: "ok", Arg: "new"},
	}
	var lines testbuf.Buffer
	base := srv.URL + "/api"
	timeout := 250 * time.Millisecond
	s, err := Run(context.Background(), actions, Options{BaseURL: base, Timeout: timeout, Errors: &lines})
	if err != nil {
		t.Fatal(err)
	}

	want := []string{
		`3,500,register`,
		`5,500,tweet`,
		`6,404,tweet`,
		`7,ReadTimeout`,
		`8,400,follow`,
	}
	got := strings.Split(strings.TrimSuffix(lines.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("error lines:\n%s\nwant %d", lines.String(), len(want))
	}
	for i, w := range want {
		re := regexp.MustCompile(`^` + tsPattern + `,` + regexp.QuoteMeta(base) + `,` + w + `$`)
		if !re.MatchString(got[i]) {
			t.Errorf("error line %q does not match %s", got[i], re)
		}
	}

	if s.Requests != 8 || s.Errors != 5 {
		t.Errorf("%d requests, %d errors; want 8 and 5", s.Requests, s.Errors)
	}
	if fmt.Sprint(s.ByKind) != fmt.Sprint(map[ErrorKind]int{KindStatus: 4, KindTimeout: 1}) {
		t.Errorf("by kind %v", s.ByKind)
	}
	if fmt.Sprint(s.ByStatus) != fmt.Sprint(map[int]int{400: 1, 404: 1, 500: 2}) {
		t.Errorf("by status %v", s.ByStatus)
	}
	if reg := s.Commands[CmdRegister]; reg.Requests != 3 || reg.Errors != 1 || reg.ByStatus[500] != 1 {
		t.Errorf("register stats %+v", reg)
	}
	if tw := s.Commands[CmdTweet]; tw.Requests != 4 || tw.Errors != 3 || tw.ByKind[KindTimeout] != 1 {
		t.Errorf("tweet stats %+v", tw)
	}
	if s.Latency.Max < timeout {
		t.Errorf("max latency %s, but one request ran into the %s timeout", s.Latency.Max, timeout)
	}
}

// refusedURL is an API base on a port nobody listens on any more:
// connection refused.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String() + "/api"
}

// hangUpServer accepts, reads a whole request and hangs up without an
// answer; it returns the base URL and counts the requests it read.
func hangUpServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // not defer: subtests may run after the caller returns
	var n atomic.Int64
	go acceptThen(l, func(c net.Conn) {
		readRequest(c)
		n.Add(1)
		c.Close()
	})
	return "http://" + l.Addr().String(), &n
}

func TestConnectionErrors(t *testing.T) {
	t.Parallel()
	refused := refusedURL(t)
	hangup, _ := hangUpServer(t)

	// A server that answers something that is not HTTP.
	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { garbage.Close() })
	go acceptThen(garbage, func(c net.Conn) {
		readRequest(c)
		io.WriteString(c, "HELLO THERE\r\n\r\n")
		c.Close()
	})

	tests := []struct {
		name, base string
		kind       ErrorKind
		course     string
	}{
		{"refused", refused, KindConnection, "ConnectionError"},
		{"hang-up", hangup, KindConnection, "ConnectionError"},
		{"not HTTP", "http://" + garbage.Addr().String(), KindOther, "RequestException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			actions := []Action{
				{ID: 41, Command: CmdTweet, User: "a", Arg: "x"},
				{ID: 42, Command: CmdUnfollow, User: "a", Arg: "b"},
			}
			var lines testbuf.Buffer
			s, err := Run(context.Background(), actions, Options{BaseURL: tc.base, Errors: &lines, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if s.Errors != 2 || s.ByKind[tc.kind] != 2 {
				t.Errorf("errors %d by kind %v, want 2 %s", s.Errors, s.ByKind, tc.kind)
			}
			re := regexp.MustCompile(`^` + tsPattern + `,` + regexp.QuoteMeta(tc.base) + `,41,` + tc.course + `\n` +
				tsPattern + `,` + regexp.QuoteMeta(tc.base) + `,42,` + tc.course + `\n$`)
			if !re.MatchString(lines.String()) {
				t.Errorf("error lines\n%s\ndo not match %s", lines.String(), re)
			}
		})
	}
}

// readRequest reads a whole request, so that closing the connection after it
// is a clean close and not a reset for unread data.
func readRequest(c net.Conn) {
	if r, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
		io.Copy(io.Discard, r.Body)
	}
}

func acceptThen(l net.Listener, serve func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go serve(c)
	}
}

func TestLimit(t *testing.T) {
	t.Parallel()
	rec, srv := newRecorder(t)
	actions := orderedScenario(3, 10)
	s, err := Run(context.Background(), actions, Options{BaseURL: srv.URL, Limit: 3, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if s.Actions != 3 || s.Requests != 3 {
		t.Errorf("summary of %d actions, %d requests; want 3 and 3", s.Actions, s.Requests)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var latest []string
	for _, r := range rec.reqs {
		latest = append(latest, r.latest)
	}
	if strings.Join(latest, ",") != "0,1,2" {
		t.Errorf("server got latest %v, want 0,1,2", latest)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	arrived := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		n := arrived
		mu.Unlock()
		if n == 5 {
			cancel() // Ctrl-C while this request is in flight
			waitFor(r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	var actions []Action
	for i := range 20 {
		actions = append(actions, Action{ID: i, Command: CmdTweet, User: "a", Arg: "x"})
	}
	var lines testbuf.Buffer
	s, err := Run(ctx, actions, Options{BaseURL: srv.URL, Errors: &lines, Timeout: 5 * time.Second})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if s.Requests != 4 || s.Errors != 0 || s.Actions != 20 || !s.Interrupted() {
		t.Errorf("summary: %d of %d requests, %d errors, interrupted %v; want 4 of 20, 0, true",
			s.Requests, s.Actions, s.Errors, s.Interrupted())
	}
	if lines.String() != "" {
		t.Errorf("the abandoned request printed an error line: %q", lines.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if arrived != 5 {
		t.Errorf("%d requests arrived after the cancel, want none", arrived-5)
	}
	if !strings.Contains(s.String(), "4 of 20 (interrupted)") {
		t.Errorf("summary does not say it was interrupted:\n%s", s)
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	var term testbuf.Buffer // errors and progress share it, as on a terminal
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Each answer waits for a redraw of the progress line, so that
		// the run redraws it several times however busy the machine is.
		seen := strings.Count(term.String(), "\r")
		testwait.Poll(r.Context(), testwait.Timeout, func() error {
			if strings.Count(term.String(), "\r") == seen {
				return errors.New("no redraw yet")
			}
			return nil
		})
		if r.URL.Query().Get("latest") == "3" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var actions []Action
	for i := range 10 {
		actions = append(actions, Action{ID: i, Command: CmdTweet, User: "a", Arg: "x"})
	}
	if _, err := Run(context.Background(), actions, Options{BaseURL: srv.URL, Errors: &term, Progress: &term, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	out := term.String()
	if !strings.HasSuffix(out, "\n") || !strings.Contains(out, "\r10/10  100.0%  errors 1  ") {
		t.Errorf("no final progress line in %q", out)
	}
	if strings.Count(out, "\r") < 3 {
		t.Errorf("progress was not redrawn: %q", out)
	}
	// The error line starts on a line of its own, after the progress line
	// was wiped.
	if !regexp.MustCompile(`(^|\r)` + tsPattern + `,[^\n\r]*,3,500,tweet\n`).MatchString(out) {
		t.Errorf("error line mixed into the progress line: %q", out)
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	f, err := createTemp(t)
	if err != nil {
		t.Fatal(err)
	}
	if IsTerminal(f) || IsTerminal(&bytes.Buffer{}) || IsTerminal(io.Discard) {
		t.Error("a file or a buffer taken for a terminal")
	}
}

// TestSeveralEndpoints: a refused connection means nothing was sent, so the
// request goes to the next endpoint and the refusing one is left out for a
// while; a connection that broke after the request was sent is an error
// and is not sent again (it may have reached the server).
func TestSeveralEndpoints(t *testing.T) {
	t.Parallel()
	refused := refusedURL(t)
	hangup, hungUp := hangUpServer(t)
	var served atomic.Int64
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(good.Close)

	tweets := make([]Action, 10)
	for i := range tweets {
		tweets[i] = Action{ID: i + 1, Command: CmdTweet, User: "a", Arg: "x"}
	}
	s, err := Run(context.Background(), tweets, Options{BaseURL: refused + "," + good.URL + "/api", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 0 || served.Load() != 10 {
		t.Errorf("with one node refusing: %d errors, %d served by the other, want 0 and 10", s.Errors, served.Load())
	}

	served.Store(0)
	s, err = Run(context.Background(), tweets, Options{BaseURL: good.URL + "/api," + hangup, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 5 || s.ByKind[KindConnection] != 5 || hungUp.Load() != 5 || served.Load() != 5 {
		t.Errorf("with one node hanging up: %d errors (%v), %d hung up, %d served; want 5 connection errors, 5 and 5",
			s.Errors, s.ByKind, hungUp.Load(), served.Load())
	}
	if len(s.Outages) == 0 {
		t.Error("no outage reported for the failed requests")
	}

	s, err = Run(context.Background(), tweets[:2], Options{BaseURL: refused + "," + refused, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 2 || s.ByKind[KindConnection] != 2 || len(s.Outages) != 1 || s.Outages[0].Recovered {
		t.Errorf("with every node refusing: %d errors (%v), outages %+v; want 2 connection errors in one unrecovered outage",
			s.Errors, s.ByKind, s.Outages)
	}
}
