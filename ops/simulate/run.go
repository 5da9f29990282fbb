package simulate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The course's defaults.
const (
	DefaultUsername = "simulator"
	DefaultPassword = "super_safe!"
	DefaultTimeout  = 300 * time.Millisecond
)

// Options configures a run. The zero value of every field but BaseURL is a
// usable default.
type Options struct {
	// BaseURL is the API base, e.g. http://127.0.0.1:8080/api, or several
	// separated by commas (the nodes of a cluster), used in turn the way a
	// load balancer would (see the package doc); it is also the host field of
	// the error lines, as given.
	BaseURL string
	// Concurrency is the number of workers; below 1 means 1.
	Concurrency int
	// Limit replays only the first Limit actions; 0 means all.
	Limit int
	// Timeout bounds each request from connect to last body byte; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Username and Password go into every request's Basic authorization; an
	// empty one means the course's (DefaultUsername, DefaultPassword).
	Username, Password string
	// Errors receives one line per failed request; nil discards them.
	Errors io.Writer
	// Progress receives a redrawn progress line; nil means none. Pass a
	// terminal only (see IsTerminal).
	Progress io.Writer
	// Client sends the requests; nil means one that opens a new connection
	// per request, speaks HTTP/1.1 only and does not follow redirects.
	Client *http.Client
}

// Run replays actions against opt.BaseURL and returns what happened. Failed
// requests are counted in the Summary, not returned as an error: the error is
// for options or actions that cannot be run at all, and for a cancelled ctx,
// in which case the Summary covers the requests that completed.
func Run(ctx context.Context, actions []Action, opt Options) (Summary, error) {
	r, err := newRunner(actions, opt)
	if err != nil {
		return Summary{}, err
	}
	if opt.Limit > 0 && opt.Limit < len(actions) {
		actions = actions[:opt.Limit]
	}
	// Refuse a bad action before anything is sent, not halfway through.
	for _, a := range actions {
		switch a.Command {
		case CmdRegister, CmdTweet, CmdFollow, CmdUnfollow:
		default:
			return Summary{}, fmt.Errorf("action %d: unknown command %q", a.ID, a.Command)
		}
	}

	var stop chan struct{}
	var progressDone sync.WaitGroup
	if opt.Progress != nil {
		stop = make(chan struct{})
		progressDone.Go(func() { progressLoop(r.out, &r.counters, len(actions), stop) })
	}
	r.start = time.Now()
	r.replay(ctx, actions)
	elapsed := time.Since(r.start)
	if stop != nil {
		close(stop)
		progressDone.Wait()
	}

	s := summarize(r.results, len(actions), elapsed)
	return s, ctx.Err()
}

// runner holds the state of one run.
type runner struct {
	eps     []endpoint     // one per base URL; requests go round-robin
	down    []atomic.Int64 // per endpoint: refusing connections until this time (UnixNano)
	next    atomic.Uint64  // the round-robin position
	start   time.Time      // when the replay began; results are timed from it
	host    string
	client  *http.Client
	timeout time.Duration
	workers int
	out     *output

	counters counters
	mu       sync.Mutex
	results  []result
}

func newRunner(actions []Action, opt Options) (*runner, error) {
	if opt.BaseURL == "" {
		return nil, errors.New("no base URL")
	}
	user, pass := opt.Username, opt.Password
	if user == "" {
		user = DefaultUsername
	}
	if pass == "" {
		pass = DefaultPassword
	}
	var eps []endpoint
	for _, base := range strings.Split(opt.BaseURL, ",") {
		ep, err := newEndpoint(strings.TrimSpace(base), user, pass)
		if err != nil {
			return nil, err
		}
		eps = append(eps, ep)
	}
	if opt.Limit < 0 {
		return nil, fmt.Errorf("limit %d is negative", opt.Limit)
	}
	if opt.Timeout < 0 {
		return nil, fmt.Errorf("timeout %s is negative", opt.Timeout)
	}
	r := &runner{
		eps:     eps,
		down:    make([]atomic.Int64, len(eps)),
		host:    opt.BaseURL,
		client:  opt.Client,
		timeout: opt.Timeout,
		workers: max(opt.Concurrency, 1),
		out:     &output{errors: opt.Errors, progress: opt.Progress},
		results: make([]result, 0, len(actions)),
	}
	if r.client == nil {
		r.client = defaultClient()
	}
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	if r.out.errors == nil {
		r.out.errors = io.Discard
	}
	return r, nil
}

func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableKeepAlives = true
	// Python's requests speaks HTTP/1.1; HTTP/2 would change what a
	// connection per request costs.
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// replay runs the actions in order, with every register and the last action
// as barriers, and what lies between them spread over the workers.
func (r *runner) replay(ctx context.Context, actions []Action) {
	from := 0
	for i, a := range actions {
		if a.Command != CmdRegister && i != len(actions)-1 {
			continue
		}
		r.spread(ctx, actions[from:i])
		if ctx.Err() != nil {
			return
		}
		r.do(ctx, a)
		from = i + 1
	}
}

// spread runs a stretch of actions without barriers: each user's actions go
// to one worker, which keeps their order. It returns when all have run.
func (r *runner) spread(ctx context.Context, actions []Action) {
	if r.workers == 1 || len(actions) < 2 {
		for _, a := range actions {
			r.do(ctx, a)
		}
		return
	}
	queues := make([][]Action, r.workers)
	for _, a := range actions {
		w := workerOf(a.User, r.workers)
		queues[w] = append(queues[w], a)
	}
	var wg sync.WaitGroup
	for _, q := range queues {
		if len(q) == 0 {
			continue
		}
		wg.Go(func() {
			for _, a := range q {
				r.do(ctx, a)
			}
		})
	}
	wg.Wait()
}

func workerOf(user string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(user))
	return int(h.Sum32() % uint32(n))
}

// do sends one action and records the outcome, unless the run was cancelled
// before or while it was sent.
func (r *runner) do(ctx context.Context, a Action) {
	if ctx.Err() != nil {
		return
	}
	res, errName := r.send(ctx, a)
	if ctx.Err() != nil {
		// Abandoned because the run stops, not because the server failed.
		return
	}
	if res.kind != "" {
		r.counters.errors.Add(1)
		ts := time.Now().UTC().Format("2006-01-02 15:04:05")
		line := ts + "," + r.host + "," + strconv.Itoa(a.ID) + ","
		if res.kind == KindStatus {
			line += strconv.Itoa(res.status) + "," + a.Command
		} else {
			line += errName
		}
		r.out.errorLine(line)
	}
	r.counters.done.Add(1)
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
}

// send performs the request of a and reports its outcome; for a transport
// error, also the name the course's error line gives it.
func (r *runner) send(ctx context.Context, a Action) (res result, name string) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res.command = a.Command
	start := time.Now()
	defer func() {
		res.latency = time.Since(start)
		res.began, res.ended = start.Sub(r.start), time.Since(r.start)
	}()
	first := r.next.Add(1) - 1
	var err error
	var connected bool
	for try := range r.eps {
		ep := r.pick(first+uint64(try), try == len(r.eps)-1)
		if ep < 0 {
			continue
		}
		var resp *http.Response
		resp, connected, err = r.attempt(ctx, ep, a)
		if err == nil {
			res.status = resp.StatusCode
			if !accepted(a.Command, resp.StatusCode) {
				res.kind = KindStatus
			}
			return res, ""
		}
		if connected || !isConnectionError(err) || ctx.Err() != nil {
			break
		}
		// Refused before anything was sent: this node is down. Like a load
		// balancer, leave it out for a while and try the next one.
		r.down[ep].Store(time.Now().Add(downFor).UnixNano())
	}
	res.kind, name = classify(err, connected)
	return res, name
}

// downFor is how long an endpoint that refused a connection is left out of
// the rotation (unless every endpoint is down).
const downFor = time.Second

// pick returns the endpoint at position i of the rotation, or -1 to skip it
// because it refused connections recently; the last try takes it anyway.
func (r *runner) pick(i uint64, last bool) int {
	ep := int(i % uint64(len(r.eps)))
	if !last && time.Now().UnixNano() < r.down[ep].Load() {
		return -1
	}
	return ep
}

// attempt sends a's request to one endpoint and reads the whole answer.
// connected tells whether a connection was established, after which the
// request may have reached the server.
func (r *runner) attempt(ctx context.Context, ep int, a Action) (*http.Response, bool, error) {
	var connected atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				connected.Store(true)
			}
		},
		// A caller's Client may reuse connections, which never "connect".
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	})
	req, err := r.eps[ep].request(ctx, a)
	if err != nil {
		// Checked before the run started; cannot happen.
		return nil, true, err
	}
	resp, err := r.client.Do(req)
	if err == nil {
		err = drain(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		return nil, connected.Load(), err
	}
	return resp, true, nil
}
