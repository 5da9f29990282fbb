package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"minitwit/node/nodeinfo"
	"minitwit/ops"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Client is the one client of the cluster RPC: members use it to speak to
// each other (Server.Client), and the admin tools (`minitwit cluster`,
// `backup`, `restore --cluster`, `import`, `admin`, `flag`) use it with the
// identity of a local node (NewClient). Every failed call is an error
// carrying the answer's failure code (errors.go).
type Client struct {
	t *TLS
	// hc is replaced when this node's certificate moves to a new CA (a CA
	// rotation: carotate.go), so that no request is sent on a kept-alive
	// connection that presents the old certificate once that CA is
	// retired; calls in flight finish on the old one.
	hc atomic.Pointer[http.Client]
}

// NewClient loads the node certificate from dataDir.
func NewClient(dataDir string) (*Client, error) {
	t, err := LoadTLS(dataDir)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("no node certificate in %s (has a node run there?)", dataDir)
	}
	return newClient(t), nil
}

// newClient dials members over the internode port with t's certificate;
// connections are kept alive, so a forwarded write costs one round trip on
// an open connection.
func newClient(t *TLS) *Client {
	c := &Client{t: t}
	c.hc.Store(newHTTPClient(t))
	return c
}

func newHTTPClient(t *TLS) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialCluster(ctx, t, addr, prefaceRPC)
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute,
	}}
}

// newConnections makes the calls from now on open new connections (with
// the certificate in use now); the old connections close when idle.
func (c *Client) newConnections() {
	old := c.hc.Swap(newHTTPClient(c.t))
	old.CloseIdleConnections()
	// Calls in flight return their connections to the old pool after this.
	time.AfterFunc(time.Minute, old.CloseIdleConnections)
}

// send sends one cluster RPC and returns the response when it is 200 OK;
// any other answer becomes an *rpcError carrying the status, the failure
// code and the message.
func (c *Client) send(ctx context.Context, method, addr, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Load().Do(req)
	if err != nil {
		return nil, newInternodeError(addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		code, msg := failureCode(resp.StatusCode, body)
		return nil, &rpcError{status: resp.StatusCode, code: code, msg: msg}
	}
	return resp, nil
}

// do sends body (JSON, when not nil) and returns the answer's body.
func (c *Client) do(ctx context.Context, method, addr, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	resp, err := c.send(ctx, method, addr, path, rd)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxRPCBody))
}

// post sends one RPC to the member at addr.
func (c *Client) post(ctx context.Context, addr, path string, body []byte) error {
	resp, err := c.send(ctx, http.MethodPost, addr, path, bytes.NewReader(body))
	if err != nil {
		var re *rpcError
		if errors.As(err, &re) {
			return fmt.Errorf("%s answered %w", addr, err)
		}
		return err
	}
	resp.Body.Close()
	return nil
}

// get sends a GET to a member (the admin page's calls) and returns the
// response when it is 200.
func (c *Client) get(ctx context.Context, addr, path string) (*http.Response, error) {
	resp, err := c.send(ctx, http.MethodGet, addr, path, nil)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, fmt.Errorf("%s did not answer in time", addr)
	}
	return resp, err
}

func (c *Client) getJSON(ctx context.Context, addr, path string, v any) error {
	resp, err := c.get(ctx, addr, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v)
}

// Members asks the node at addr for its view of the cluster.
func (c *Client) Members(ctx context.Context, addr string) (MembersReport, error) {
	var rep MembersReport
	data, err := c.do(ctx, http.MethodGet, addr, rpcMembers, nil)
	if err == nil {
		err = json.Unmarshal(data, &rep)
	}
	return rep, err
}

// Leader finds the leader's address through the node at addr.
func (c *Client) Leader(ctx context.Context, addr string) (string, error) {
	for {
		rep, err := c.Members(ctx, addr)
		if err != nil {
			return "", err
		}
		for _, m := range rep.Members {
			if m.ID == rep.Self.Leader {
				return m.Address, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", errors.New("the cluster has no leader")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Remove takes a member out of the cluster.
func (c *Client) Remove(ctx context.Context, addr, id string) error {
	return c.viaLeader(ctx, addr, false, func(leader string) error {
		_, err := c.do(ctx, http.MethodPost, leader, rpcRemove, memberRequest{ID: id})
		return err
	})
}

// Transfer hands leadership to member to (or to the best candidate when
// to is empty) and returns the new leader's id.
func (c *Client) Transfer(ctx context.Context, addr, to string) (string, error) {
	var data []byte
	err := c.viaLeader(ctx, addr, false, func(leader string) error {
		var err error
		data, err = c.do(ctx, http.MethodPost, leader, rpcTransfer, memberRequest{ID: to})
		return err
	})
	return string(data), err
}

// leaderAttempts bounds how many times atLeader sends a request when
// leadership keeps moving: a cluster that elects that often has a problem
// an operator should see.
const leaderAttempts = 8

// viaLeader is atLeader with the leader found through the node at addr.
func (c *Client) viaLeader(ctx context.Context, addr string, unknownToo bool, call func(leader string) error) error {
	return atLeader(ctx, func() (string, error) { return c.Leader(ctx, addr) }, unknownToo, call)
}

// atLeader finds the leader and calls it, and does both again while the
// answer is "not the leader" (the request reached a member that had just
// lost the leadership, or an election was under way: nothing was done)
// and, when unknownToo, "outcome unknown" (only for a request that is
// safe to repeat). Operator commands used to fail with "421: not the
// leader" on a busy machine when leadership moved between the two steps.
func atLeader(ctx context.Context, findLeader func() (string, error), unknownToo bool, call func(leader string) error) error {
	for attempt := 1; ; attempt++ {
		leader, err := findLeader()
		if err != nil {
			return err
		}
		err = call(leader)
		var re *rpcError
		if err == nil || !errors.As(err, &re) || attempt == leaderAttempts ||
			(re.code != codeNotLeader && (!unknownToo || re.code != codeOutcomeUnknown)) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// Token returns the cluster's join token.
func (c *Client) Token(ctx context.Context, addr string) (string, error) {
	data, err := c.do(ctx, http.MethodGet, addr, rpcToken, nil)
	return string(data), err
}

// Backup asks the node at addr for a backup and writes it to w. A backup
// cut short shows in the file's checksum; callers check it with
// backup.Read before trusting the file.
func (c *Client) Backup(ctx context.Context, addr string, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, addr, rpcBackup, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// RestoreCluster sends a backup to the leader of the cluster the node at
// addr belongs to, which replaces the cluster's state with it. open gives
// the backup from its start (a decrypted backup is read again from its
// file, never stored in the clear); it is called once per attempt.
//
// A restore that reached a member that no longer leads, or during which
// leadership moved (on a busy machine the leader can lose its lease while
// it and its followers install the backup), is sent again to the leader
// of the moment: restoring the same backup twice gives the same state, so
// a restore whose outcome was unknown cannot do harm by being repeated.
func (c *Client) RestoreCluster(ctx context.Context, addr string, open func() (io.ReadCloser, error)) error {
	return c.viaLeader(ctx, addr, true, func(leader string) error {
		body, err := open()
		if err != nil {
			return err
		}
		defer body.Close()
		resp, err := c.send(ctx, http.MethodPost, leader, rpcRestore, body)
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
}

// Flagged lists the flagged messages, newest first, through the node at
// addr.
func (c *Client) Flagged(ctx context.Context, addr string) ([]FlaggedMessage, error) {
	data, err := c.do(ctx, http.MethodGet, addr, rpcFlagged, nil)
	if err != nil {
		return nil, err
	}
	var out []FlaggedMessage
	return out, json.Unmarshal(data, &out)
}

// ResolveUsername returns the stored spelling of the user an operator
// named, as the member at addr reads it (store.ReadTx.ResolveUsername). A
// member older than this call is answered with the name as given, which is
// what it would have proposed before.
func (c *Client) ResolveUsername(ctx context.Context, addr, name string) (string, error) {
	data, err := c.do(ctx, http.MethodGet, addr, rpcUsernames+"?name="+url.QueryEscape(name), nil)
	var re *rpcError
	switch {
	case errors.As(err, &re) && re.status == http.StatusNotFound && re.code == "":
		return name, nil
	case err != nil:
		return "", err
	}
	var matches []string
	if err := json.Unmarshal(data, &matches); err != nil {
		return "", err
	}
	return store.PickUsername(name, matches)
}

// Info asks a member to describe itself (the admin page's overview).
func (c *Client) Info(ctx context.Context, addr string) (nodeinfo.Info, error) {
	var info nodeinfo.Info
	err := c.getJSON(ctx, addr, rpcInfo, &info)
	return info, err
}

// Samples asks a member for its sampled figures since a time.
func (c *Client) Samples(ctx context.Context, addr string, since time.Time) ([]ops.Point, error) {
	var pts []ops.Point
	err := c.getJSON(ctx, addr, rpcSamples+"?since="+strconv.FormatInt(since.UnixNano(), 10), &pts)
	return pts, err
}

// RecentLogs asks a member for up to max of its recent log lines.
func (c *Client) RecentLogs(ctx context.Context, addr string, max int) ([]string, error) {
	var lines []string
	err := c.getJSON(ctx, addr, rpcLogsRecent+"?max="+strconv.Itoa(max), &lines)
	return lines, err
}

// TailLogs streams a member's new log lines into a channel until ctx ends
// or the member stops.
func (c *Client) TailLogs(ctx context.Context, addr string) (<-chan string, error) {
	resp, err := c.get(ctx, addr, rpcLogsTail)
	if err != nil {
		return nil, err
	}
	out := make(chan string, TailBuffer)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if sc.Text() == "" {
				continue // keep-alive
			}
			select {
			case out <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// LogFile copies a member's current log file to w; name receives the
// file's name first.
func (c *Client) LogFile(ctx context.Context, addr string, w io.Writer, name func(string)) error {
	resp, err := c.get(ctx, addr, rpcLogsFile)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	name(resp.Header.Get("Minitwit-Filename"))
	_, err = io.Copy(w, resp.Body)
	return err
}

// Proposer returns a Proposer that sends commands, over the internode port,
// to the leader of the cluster the node at addr belongs to: `minitwit
// import` into a running cluster. Each command carries a request ID, so a
// retry after the leader changed is applied once.
func (c *Client) Proposer(addr string) *RemoteProposer {
	return &RemoteProposer{c: c, addr: addr}
}

// RemoteProposer proposes through a member (Client.Proposer).
type RemoteProposer struct {
	c    *Client
	addr string

	mu     sync.Mutex
	leader string // the leader found last, tried first
}

// ResolveUsername returns the stored spelling of the user an operator
// named, read through the member it goes through (Client.ResolveUsername).
func (p *RemoteProposer) ResolveUsername(ctx context.Context, name string) (string, error) {
	return p.c.ResolveUsername(ctx, p.addr, name)
}

// Propose sends cmd to the leader and returns its result.
func (p *RemoteProposer) Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error) {
	if f := raftfsm.FormatOf(cmd); f > raftfsm.ReleasedFormat {
		// The format gate (formatgate.go), asked of the member we go
		// through: the leader may run an older binary without one.
		_, err := p.c.do(ctx, http.MethodGet, p.addr, rpcClusterFormat+"?format="+strconv.Itoa(int(f)), nil)
		var re *rpcError
		switch {
		case errors.As(err, &re) && re.status == http.StatusNotFound:
			return raftfsm.Result{}, fmt.Errorf("%w (the node at %s is older than this tool)", raftfsm.ErrOlderMembers, p.addr)
		case errors.As(err, &re) && re.code == codeFormatRefused:
			return raftfsm.Result{}, formatRefusal(re.msg)
		case err != nil:
			return raftfsm.Result{}, err
		}
	}
	var id raftfsm.RequestID
	rand.Read(id[:])
	body := raftfsm.Encode(&raftfsm.Tagged{ID: id, Cmd: raftfsm.Encode(cmd)})
	tries := 0
	leader := func(ctx context.Context) (string, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if tries++; tries > 1 || p.leader == "" { // it moved, or first use: ask
			addr, err := p.c.Leader(ctx, p.addr)
			if err != nil {
				return "", err
			}
			p.leader = addr
		}
		return p.leader, nil
	}
	data, err := postToLeader(ctx, p.c.hc.Load(), leader, rpcPropose, body, false, nil)
	if err != nil {
		return raftfsm.Result{}, err
	}
	return raftfsm.DecodeResult(data)
}

// postToLeader is CallLeader's loop for any caller: hc speaks the cluster
// RPC, leader finds the current leader's internode address (waiting while
// there is none); watch is nil for callers that are not members (tools).
func postToLeader(ctx context.Context, hc *http.Client, leader func(context.Context) (string, error),
	path string, body []byte, retried bool, watch leaderWatch) ([]byte, error) {
	for {
		addr, err := leader(ctx)
		if err != nil {
			return nil, err
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if watch != nil {
			actx, cancel = watch.attemptContext(ctx, addr, path)
		}
		req, _ := http.NewRequestWithContext(actx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
		if retried {
			req.Header.Set(retryHeader, "1")
		}
		if watch != nil {
			req.Header.Set(termHeader, strconv.FormatUint(watch.currentTerm(), 10))
		}
		resp, err := hc.Do(req)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
			}
			retried = retried || !isDialError(err)
			// The leader may be gone; look again after a beat.
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return nil, err
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxRPCBody))
		resp.Body.Close()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
			}
			retried = true
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode == http.StatusOK {
			return data, nil
		}
		switch code, msg := failureCode(resp.StatusCode, data); code {
		case codeNotLeader, codeOutcomeUnknown:
			retried = retried || code == codeOutcomeUnknown
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return nil, err
			}
			continue
		case codeFormatRefused:
			// Not the leader's to retry: every member has to upgrade.
			return nil, formatRefusal(msg)
		default:
			return nil, fmt.Errorf("%w: leader %s answered %d: %s", ErrUnavailable, addr, resp.StatusCode, msg)
		}
	}
}
