package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/raftfsm"
)

// The cluster RPC: HTTP/1.1 over the mutually authenticated internode port
// (transport.go). Only members reach it. It carries what a follower needs
// from the leader: forwarded proposals, read indexes and membership changes.
const (
	rpcPropose  = "/propose"
	rpcReadIdx  = "/read-index"
	rpcAddVoter = "/add-voter"
	rpcRemove   = "/remove"
	rpcStatus   = "/status"

	// retryHeader marks a request sent again after an attempt whose outcome
	// is unknown.
	retryHeader = "Minitwit-Retry"
	// termHeader carries the sending member's Raft term. A leader refuses
	// (as "not the leader": nothing done) a forwarded write sent in an
	// earlier term: the sender gave up on that attempt when it saw a new
	// leader, and may have had it applied since by a retry elsewhere, so a
	// copy delivered late must not be applied again.
	termHeader = "Minitwit-Term"
	maxRPCBody = 4 << 20
)

// A refused or failed cluster RPC answers with an explicit code in a JSON
// body (rpcFailure), which is what callers act on. Each code also has an
// HTTP status of its own, for callers from before the codes: 421 and 409
// kept their meanings, and a format gate refusal, which used to be a 409
// too (so such a caller retried it until its deadline), now has 422.
const (
	// codeNotLeader: nothing was done; find the leader again and retry.
	codeNotLeader = "not_leader"
	// codeOutcomeUnknown: the leader lost leadership with the write in
	// flight; retry it (same request ID) on the next leader.
	codeOutcomeUnknown = "outcome_unknown"
	// codeFormatRefused: the format gate refused the command; retrying
	// cannot help until every member is upgraded.
	codeFormatRefused = "format_refused"
	// codeBadRequest: the request is malformed; retrying cannot help.
	codeBadRequest = "bad_request"
	// codeUnavailable: anything else (a Raft error, shutting down).
	codeUnavailable = "unavailable"
)

var rpcCodeStatus = map[string]int{
	codeNotLeader:      http.StatusMisdirectedRequest,
	codeOutcomeUnknown: http.StatusConflict,
	codeFormatRefused:  http.StatusUnprocessableEntity,
	codeBadRequest:     http.StatusBadRequest,
	codeUnavailable:    http.StatusServiceUnavailable,
}

// rpcFailure is the body of a refused or failed cluster RPC.
type rpcFailure struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// rpcFail answers a cluster RPC with code and err.
func rpcFail(w http.ResponseWriter, code string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rpcCodeStatus[code])
	json.NewEncoder(w).Encode(rpcFailure{Code: code, Error: err.Error()})
}

// failureCode reads the code of a failed answer. An answer without one
// comes from a member older than the codes: its status is read as it was
// meant, and a 409 that carries the format gate's message is a refusal.
func failureCode(status int, body []byte) (code, msg string) {
	var f rpcFailure
	if json.Unmarshal(body, &f) == nil && f.Code != "" {
		return f.Code, f.Error
	}
	msg = strings.TrimSpace(string(body))
	switch {
	case status == http.StatusConflict && strings.HasPrefix(msg, raftfsm.ErrOlderMembers.Error()):
		return codeFormatRefused, msg
	case status == http.StatusMisdirectedRequest:
		return codeNotLeader, msg
	case status == http.StatusConflict:
		return codeOutcomeUnknown, msg
	}
	return "", msg
}

// formatRefusal turns a format gate refusal's message into an error that
// is raftfsm.ErrOlderMembers, worded as the refusing node worded it.
func formatRefusal(msg string) error {
	return fmt.Errorf("%w%s", raftfsm.ErrOlderMembers, strings.TrimPrefix(msg, raftfsm.ErrOlderMembers.Error()))
}

// errNotLeaderHere means the request reached a node that is not (or no
// longer) the leader; nothing was done, so it may be sent again.
var errNotLeaderHere = errors.New("not the leader")

func (n *Node) rpcHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+rpcPropose, n.rpcServePropose)
	mux.HandleFunc("POST "+rpcReadIdx, n.rpcServeReadIndex)
	mux.HandleFunc("POST "+rpcAddVoter, n.rpcServeAddVoter)
	mux.HandleFunc("POST "+rpcRemove, n.rpcServeRemove)
	mux.HandleFunc("GET "+rpcStatus, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(n.Status())
	})
	n.adminRoutes(mux)
	n.adminViewRoutes(mux)
	n.membershipRoutes(mux)
	return mux
}

func (n *Node) rpcServePropose(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRPCBody))
	if err != nil {
		rpcFail(w, codeBadRequest, err)
		return
	}
	cmd, err := raftfsm.Decode(data)
	if err != nil {
		rpcFail(w, codeBadRequest, err)
		return
	}
	tagged, ok := cmd.(*raftfsm.Tagged)
	if !ok {
		rpcFail(w, codeBadRequest, errors.New("a forwarded command must carry its request ID"))
		return
	}
	if len(tagged.Cmd) > 0 {
		// Leader-side format gate, for proposers that did not ask.
		if err := n.checkClusterReads(r.Context(), tagged.Cmd[0]); err != nil {
			rpcFail(w, codeFormatRefused, err)
			return
		}
	}
	if sent, _ := strconv.ParseUint(r.Header.Get(termHeader), 10, 64); sent != 0 && sent < n.raft.CurrentTerm() {
		rpcFail(w, codeNotLeader, fmt.Errorf("sent in an earlier term: %w", errNotLeaderHere))
		return
	}
	res, err := n.proposeHere(r.Context(), tagged.ID, data, r.Header.Get(retryHeader) != "", true)
	switch {
	case errors.Is(err, errNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
		return
	case errors.Is(err, errOutcomeUnknown):
		rpcFail(w, codeOutcomeUnknown, err)
		return
	case err != nil:
		rpcFail(w, codeUnavailable, err)
		return
	}
	b, err := raftfsm.EncodeResult(res)
	if err != nil {
		rpcFail(w, codeUnavailable, err)
		return
	}
	w.Write(b)
}

// rpcServeReadIndex answers a follower's read with the leader's commit
// index, taken when the request arrives and vouched for by a round of
// heartbeats to a quorum (the leader still leads). The read gate first
// makes sure the index covers writes acknowledged in earlier terms. The
// follower then waits until it has applied that far.
func (n *Node) rpcServeReadIndex(w http.ResponseWriter, r *http.Request) {
	index, err := n.leaderReadIndex(r.Context())
	switch {
	case errors.Is(err, errNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
		return
	case err != nil:
		rpcFail(w, codeUnavailable, err)
		return
	}
	w.Write([]byte(strconv.FormatUint(index, 10)))
}

type addVoterRequest struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

func (n *Node) rpcServeAddVoter(w http.ResponseWriter, r *http.Request) {
	var req addVoterRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		rpcFail(w, codeBadRequest, err)
		return
	}
	err := n.addVoter(r.Context(), req.ID, req.Addr)
	switch {
	case errors.Is(err, errNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
	case err != nil:
		rpcFail(w, codeUnavailable, err)
	}
}

func (n *Node) rpcServeRemove(w http.ResponseWriter, r *http.Request) {
	var req addVoterRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		rpcFail(w, codeBadRequest, err)
		return
	}
	err := n.removeHere(r.Context(), req.ID)
	switch {
	case errors.Is(err, errNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
	case err != nil:
		rpcFail(w, codeUnavailable, err)
	}
}

func (n *Node) removeHere(ctx context.Context, id string) error {
	if n.raft.State() != raft.Leader {
		return errNotLeaderHere
	}
	if err := n.await(ctx, n.raft.RemoveServer(raft.ServerID(id), 0, 30*time.Second)); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) { // harmless to repeat
			return errNotLeaderHere
		}
		return err
	}
	n.log.Info("member removed", "member", id)
	return nil
}

// RemoveMember removes a node from the cluster (through the leader).
func (n *Node) RemoveMember(ctx context.Context, id string) error {
	err := n.removeHere(ctx, id)
	if !errors.Is(err, errNotLeaderHere) {
		return err
	}
	body, _ := json.Marshal(addVoterRequest{ID: id})
	_, err = n.callLeader(ctx, rpcRemove, body, false)
	return err
}

// callMember sends an RPC to one member at addr.
func (n *Node) callMember(ctx context.Context, addr, path string, body []byte) error {
	resp, err := rpcSend(ctx, n.rpc, http.MethodPost, addr, path, bytes.NewReader(body))
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

// rpcSend sends one cluster RPC with hc (a node's or a tool's client) and
// returns the response when it is 200 OK; any other answer becomes an
// *rpcError carrying the status, the failure code and the message.
func rpcSend(ctx context.Context, hc *http.Client, method, addr, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		code, msg := failureCode(resp.StatusCode, body)
		return nil, &rpcError{status: resp.StatusCode, code: code, msg: msg}
	}
	return resp, nil
}

// addVoterHere re-addresses a member (keeping its role: membership.go), or
// adds a voter for an older member serving a join; only the leader can.
func (n *Node) addVoterHere(ctx context.Context, id, addr string) error {
	if n.raft.State() != raft.Leader {
		return errNotLeaderHere
	}
	var f raft.IndexFuture
	if n.suffrage(raft.ServerID(id)) < 0 {
		f = n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 30*time.Second)
	} else {
		f = n.addServer(raft.ServerID(id), raft.ServerAddress(addr))
	}
	if err := n.await(ctx, f); err != nil {
		// Leadership lost with the change in flight (an election on a
		// busy machine): adding a voter again is harmless, so the caller
		// sends it to the next leader like any "not the leader".
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return errNotLeaderHere
		}
		return err
	}
	n.log.Info("voter added", "voter", id, "addr", addr)
	return nil
}

// newRPCClient dials members over the internode port with this node's
// certificate; connections are kept alive, so a forwarded write costs one
// round trip on an open connection.
func newRPCClient(t *nodeTLS) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dialCluster(ctx, t, addr, prefaceRPC)
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     time.Minute,
	}}
}

// callLeader sends an RPC to the current leader, waiting (bounded by ctx)
// while there is none, and following the leader when it moves. Every RPC
// sent this way is safe to send again: reads and membership changes are
// idempotent, and a forwarded write carries its request ID. So when an
// attempt fails in a way that leaves its outcome unknown (the leader died
// mid-request, or lost leadership with the write in flight), the next
// attempt is marked as a retry and the next leader answers it without
// applying the write twice. retried marks the first attempt too.
//
// An attempt is abandoned (and the request sent again, as a retry) as soon
// as this node sees another leader, or after forwardAttemptTimeout: a
// leader that pauses or is cut off would otherwise hold the request for
// the caller's whole deadline while the rest of the cluster has elected a
// new one within a few election timeouts.
func (n *Node) callLeader(ctx context.Context, path string, body []byte, retried bool) ([]byte, error) {
	return postToLeader(ctx, n.rpc, n.waitForLeader, path, body, retried, n)
}

// forwardAttemptTimeout bounds one attempt of a forwarded request when no
// leader change is seen meanwhile: far above a commit on a healthy leader
// (a retry of a slow but healthy write joins the first attempt anyway), far
// below the caller's deadline.
func (n *Node) forwardAttemptTimeout() time.Duration {
	return max(2*time.Second, 20*n.cfg.Raft.Timing().ElectionTimeout)
}

// leaderWatch is what a member adds to postToLeader: its Raft term,
// stamped on each attempt, and a context for an attempt that ends when the
// member sees a leader other than the one at addr.
type leaderWatch interface {
	currentTerm() uint64
	attemptContext(ctx context.Context, addr, path string) (context.Context, context.CancelFunc)
}

// postToLeader is callLeader's loop for any caller: hc speaks the cluster
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

func (n *Node) currentTerm() uint64 { return n.raft.CurrentTerm() }

// attemptContext is ctx for one forwarded attempt to the leader at addr:
// it ends once this node sees a leader at another address, and, for a
// write or a read index, after forwardAttemptTimeout. No leader at all (an
// election running) keeps the attempt going: the old leader may still
// answer. Membership changes get no timeout: a slow one sent again would
// queue another configuration change behind it, and on a loaded machine
// every attempt would time out in turn (a write sent again joins the first
// attempt instead).
func (n *Node) attemptContext(ctx context.Context, addr, path string) (context.Context, context.CancelFunc) {
	actx, cancel := context.WithCancel(ctx)
	if path == rpcPropose || path == rpcReadIdx {
		actx, cancel = context.WithTimeout(ctx, n.forwardAttemptTimeout())
	}
	go func() {
		// Leader observations wake the watch (watchLeaders); the ticker
		// covers an observation Raft dropped.
		tick := time.NewTicker(n.cfg.Raft.Timing().ElectionTimeout)
		defer tick.Stop()
		for {
			moved := n.leaderMoved.wait()
			if a, id := n.raft.LeaderWithID(); id != "" && string(a) != addr {
				cancel()
				return
			}
			select {
			case <-moved:
			case <-tick.C:
			case <-actx.Done():
				return
			}
		}
	}()
	return actx, cancel
}

// signal wakes every waiter on each broadcast.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

// wait returns a channel closed by the next broadcast.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// waitForLeader returns the leader's internode address, waiting while an
// election runs.
func (n *Node) waitForLeader(ctx context.Context) (string, error) {
	for {
		if addr, id := n.raft.LeaderWithID(); id != "" && addr != "" {
			return string(addr), nil
		}
		if n.raft.State() == raft.Shutdown {
			return "", fmt.Errorf("%w: shutting down", ErrUnavailable)
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// isDialError reports a failure to connect: nothing was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	case <-t.C:
		return nil
	}
}
