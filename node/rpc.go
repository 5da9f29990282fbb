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

	// statusNotLeader tells the caller to find the leader again and retry;
	// nothing was done.
	statusNotLeader = http.StatusMisdirectedRequest
	// statusOutcomeUnknown: the leader lost leadership with the write in
	// flight; the caller retries it (same request ID) on the next leader.
	statusOutcomeUnknown = http.StatusConflict
	// retryHeader marks a request sent again after an attempt whose outcome
	// is unknown.
	retryHeader = "Minitwit-Retry"
	maxRPCBody  = 4 << 20
)

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
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd, err := raftfsm.Decode(data)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	tagged, ok := cmd.(*raftfsm.Tagged)
	if !ok {
		http.Error(w, "a forwarded command must carry its request ID", http.StatusBadRequest)
		return
	}
	if len(tagged.Cmd) > 0 {
		// Leader-side format gate, for proposers that did not ask.
		if err := n.checkClusterReads(r.Context(), tagged.Cmd[0]); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
	}
	res, err := n.proposeHere(r.Context(), tagged.ID, data, r.Header.Get(retryHeader) != "")
	switch {
	case errors.Is(err, errNotLeaderHere):
		http.Error(w, err.Error(), statusNotLeader)
		return
	case errors.Is(err, errOutcomeUnknown):
		http.Error(w, err.Error(), statusOutcomeUnknown)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	b, err := raftfsm.EncodeResult(res)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
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
	if n.raft.State() != raft.Leader {
		http.Error(w, errNotLeaderHere.Error(), statusNotLeader)
		return
	}
	if err := n.reads.Wait(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	index := n.raft.CommitIndex()
	if err := n.await(r.Context(), n.raft.VerifyLeader()); err != nil {
		http.Error(w, err.Error(), statusNotLeader)
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
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	err := n.addVoter(r.Context(), req.ID, req.Addr)
	switch {
	case errors.Is(err, errNotLeaderHere):
		http.Error(w, err.Error(), statusNotLeader)
	case err != nil:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	}
}

func (n *Node) rpcServeRemove(w http.ResponseWriter, r *http.Request) {
	var req addVoterRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	err := n.removeHere(r.Context(), req.ID)
	switch {
	case errors.Is(err, errNotLeaderHere):
		http.Error(w, err.Error(), statusNotLeader)
	case err != nil:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
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
// *rpcError carrying the status and the start of the body.
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
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, &rpcError{status: resp.StatusCode, msg: strings.TrimSpace(string(msg))}
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
func (n *Node) callLeader(ctx context.Context, path string, body []byte, retried bool) ([]byte, error) {
	return postToLeader(ctx, n.rpc, n.waitForLeader, path, body, retried)
}

// postToLeader is callLeader's loop for any caller: hc speaks the cluster
// RPC, leader finds the current leader's internode address (waiting while
// there is none).
func postToLeader(ctx context.Context, hc *http.Client, leader func(context.Context) (string, error),
	path string, body []byte, retried bool) ([]byte, error) {
	for {
		addr, err := leader(ctx)
		if err != nil {
			return nil, err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
		if retried {
			req.Header.Set(retryHeader, "1")
		}
		resp, err := hc.Do(req)
		if err != nil {
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
		switch {
		case err != nil:
			retried = true
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode == statusNotLeader || resp.StatusCode == statusOutcomeUnknown:
			retried = retried || resp.StatusCode == statusOutcomeUnknown
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("%w: leader %s answered %d: %s", ErrUnavailable, addr, resp.StatusCode, bytes.TrimSpace(data))
		}
		return data, nil
	}
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
