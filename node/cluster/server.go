package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/node/nodeinfo"
	"minitwit/ops"
	"minitwit/ops/alerting"
	"minitwit/ops/backup"
	"minitwit/raftfsm"
	"minitwit/store"
)

// The cluster RPC: HTTP/1.1 over the mutually authenticated internode port
// (transport.go). Only members reach it. It carries what a follower needs
// from the leader (forwarded proposals, read indexes, membership changes),
// what the admin tools ask of a node, and what the admin page asks of
// every member. The routes are in routes.go, the client in client.go.
const (
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
	// rpcIdleTimeout closes an idle cluster RPC connection; longer than the
	// client's idle timeout (a minute: client.go), so that it is normally
	// the client that closes, never racing a request on it.
	rpcIdleTimeout = 2 * time.Minute
)

// Host is what the internode port needs from the node it serves: Raft, the
// group commit, the node's state and its own files. *node.Node provides it
// (node/clusterhost.go); this package never imports node.
type Host interface {
	ID() string
	// Await waits for a Raft future, bounded by ctx and the node's
	// shutdown.
	Await(ctx context.Context, f raft.Future) error
	Status() nodeinfo.Status
	// Readiness says whether the node serves (may be promoted to voter).
	Readiness() Readiness
	// Up reports that the node has finished starting.
	Up() bool
	// HandingOver reports a leader handing leadership over before a stop.
	HandingOver() bool
	// ProposeForwarded runs a write another member forwarded through this
	// node's group commit; ErrNotLeaderHere when this node does not lead,
	// ErrOutcomeUnknown when leadership moved with it in flight.
	ProposeForwarded(ctx context.Context, id raftfsm.RequestID, data []byte, retry bool) (raftfsm.Result, error)
	// LeaderReadIndex is the index a read on the leader must wait for,
	// once the leader has confirmed it still leads; ErrNotLeaderHere when
	// this node does not lead (node/raft.go).
	LeaderReadIndex(ctx context.Context) (uint64, error)
	ReadStore(ctx context.Context) (*store.Store, error)
	LocalStore() *store.Store
	// Propose runs a command through Raft (revocations: boundary.go).
	Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error)
	WriteBackup(ctx context.Context, w io.Writer) error
	RestoreCluster(ctx context.Context, r io.Reader) (backup.Header, error)
	Info() nodeinfo.Info
	LocalSamples(since time.Time) []ops.Point
	LogRing() *ops.LogRing
	WriteLogFile(w io.Writer, name func(string)) error
	// Closing is closed when the node begins to shut down.
	Closing() <-chan struct{}
	Metrics() *ops.Metrics
	// AlertFacts keeps the alert evaluator's state pushed by the leader
	// (when push is set) and returns this node's facts for it.
	AlertFacts(push *alerting.State) alerting.Facts
}

// Config is what the internode port needs besides its host.
type Config struct {
	Log *slog.Logger
	// RefusalLogInterval: how often refused peers are logged (portguard.go);
	// zero means every 10 s.
	RefusalLogInterval time.Duration
	// ElectionTimeout is Raft's: it paces the leader watch of forwarded
	// requests.
	ElectionTimeout time.Duration
	// RaftTiming names the node's Raft timeouts for `cluster status`.
	RaftTiming string
	// DataDir is where the node's certificate is kept (renewals are
	// written there).
	DataDir string
	// JoinerBound is how long the leader keeps a non-voter that has never
	// answered it (membership.go); zero means DefaultJoinerBound.
	JoinerBound time.Duration
}

// Server serves the internode port: Raft's stream, the cluster RPC and the
// join handshake, and it speaks to the other members (client.go).
type Server struct {
	host   Host
	cfg    Config
	log    *slog.Logger
	tls    *TLS
	ln     *Listener
	client *Client
	http   *http.Server

	formats     formatGate
	leaderMoved *signal // broadcast on every leader observation

	// raftPtr is the node's Raft, set once it runs (SetRaft): until then
	// every RPC is answered "starting".
	raftPtr atomic.Pointer[raft.Raft]
}

// SetRaft hands the server the node's Raft once it runs.
func (s *Server) SetRaft(r *raft.Raft) { s.raftPtr.Store(r) }

// Serve starts the internode port on tcpLn (bound, not yet TLS) with the
// node's identity t: the cluster RPC and the join handshake serve at
// once; Raft's connections wait in RaftStream until Raft starts.
func Serve(tcpLn net.Listener, t *TLS, host Host, cfg Config) *Server {
	s := &Server{host: host, cfg: cfg, log: cfg.Log, tls: t, leaderMoved: newSignal()}
	s.ln = newListener(tls.NewListener(tcpLn, t.serverConfig()), cfg.Log, cfg.RefusalLogInterval, s.raftPeer)
	s.client = newClient(t)
	// Idle connections are closed after rpcIdleTimeout: members reconnect
	// at once, and a node removed from the cluster keeps none open.
	s.http = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: rpcIdleTimeout,
		ConnState: s.ln.connClosed, ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn)}
	go func() {
		// Serve returns ErrServerClosed at shutdown; anything else means the
		// cluster RPC stopped answering, which an operator must hear of.
		if err := s.http.Serve(ownListener(s.ln, s.ln.rpc)); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("cluster RPC server stopped", "err", err.Error())
		}
	}()
	go s.acceptJoins()
	go s.sweep(s.ln.closed)
	return s
}

// Addr is the internode address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// RaftStream is hashicorp/raft's StreamLayer on this port.
func (s *Server) RaftStream() raft.StreamLayer {
	return &raftStream{chanListener: chanListener{l: s.ln, ch: s.ln.raft}, tls: s.tls}
}

// Client speaks the cluster RPC to other members with this node's
// certificate.
func (s *Server) Client() *Client { return s.client }

// ShutdownRPC stops the cluster RPC, letting calls in progress finish
// until ctx ends. The port keeps carrying Raft until Close.
func (s *Server) ShutdownRPC(ctx context.Context) {
	if s.http.Shutdown(ctx) != nil {
		s.http.Close()
	}
}

// Close closes the port.
func (s *Server) Close() error { return s.ln.Close() }

// LeaderObserved wakes the forwarded requests in flight, which look again
// where the leader is (the node calls it on Raft's leader observations).
func (s *Server) LeaderObserved() { s.leaderMoved.broadcast() }

// acceptJoins serves join handshakes until the listener closes.
func (s *Server) acceptJoins() {
	for {
		select {
		case conn := <-s.ln.join:
			go s.serveJoin(conn)
		case <-s.ln.closed:
			return
		}
	}
}

func (s *Server) raft() *raft.Raft { return s.raftPtr.Load() }

func (s *Server) servePropose(w http.ResponseWriter, r *http.Request) {
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
	if len(tagged.Cmd) > 1 && raftfsm.OperatorKind(raftfsm.Kind(tagged.Cmd[1])) && s.raft().State() == raft.Leader {
		data = s.auditForwarded(r.Context(), callerID(r), tagged, data)
	}
	if len(tagged.Cmd) > 0 {
		// Leader-side format gate, for proposers that did not ask.
		if err := s.CheckClusterReads(r.Context(), tagged.Cmd[0]); err != nil {
			rpcFail(w, codeFormatRefused, err)
			return
		}
	}
	if sent, _ := strconv.ParseUint(r.Header.Get(termHeader), 10, 64); sent != 0 && sent < s.raft().CurrentTerm() {
		rpcFail(w, codeNotLeader, fmt.Errorf("sent in an earlier term: %w", ErrNotLeaderHere))
		return
	}
	res, err := s.host.ProposeForwarded(r.Context(), tagged.ID, data, r.Header.Get(retryHeader) != "")
	switch {
	case errors.Is(err, ErrNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
		return
	case errors.Is(err, ErrOutcomeUnknown):
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

// serveReadIndex answers a follower's read with the leader's commit index,
// taken when the request arrives and vouched for by a round of heartbeats
// to a quorum (the leader still leads). The read gate first makes sure the
// index covers writes acknowledged in earlier terms. The follower then
// waits until it has applied that far.
func (s *Server) serveReadIndex(w http.ResponseWriter, r *http.Request) {
	index, err := s.host.LeaderReadIndex(r.Context())
	switch {
	case errors.Is(err, ErrNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
		return
	case err != nil:
		rpcFail(w, codeUnavailable, err)
		return
	}
	w.Write([]byte(strconv.FormatUint(index, 10)))
}

// ReadIndex asks the leader for a read index (serveReadIndex).
func (s *Server) ReadIndex(ctx context.Context) (uint64, error) {
	data, err := s.CallLeader(ctx, rpcReadIdx, nil, false)
	if err != nil {
		return 0, err
	}
	index, err := strconv.ParseUint(string(data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: read index from the leader: %w", ErrUnavailable, err)
	}
	return index, nil
}

// Forward sends a write (an encoded raftfsm.Tagged) to the leader and
// returns its encoded result; retry marks a write whose earlier attempt
// has an unknown outcome.
func (s *Server) Forward(ctx context.Context, data []byte, retry bool) ([]byte, error) {
	return s.CallLeader(ctx, rpcPropose, data, retry)
}

// memberRequest names a member in a membership change.
type memberRequest struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
}

// decodeMember reads a membership request; an empty body is allowed when
// emptyOK (a transfer to whichever member is best).
func decodeMember(w http.ResponseWriter, r *http.Request, emptyOK bool) (memberRequest, bool) {
	var req memberRequest
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req)
	if err != nil && !(emptyOK && errors.Is(err, io.EOF)) {
		rpcFail(w, codeBadRequest, err)
		return req, false
	}
	return req, true
}

// failMembership answers a failed membership change.
func failMembership(w http.ResponseWriter, err error) {
	var taken *voterIDTakenError
	switch {
	case errors.As(err, &taken):
		rpcFail(w, codeBadRequest, err)
	case errors.Is(err, ErrNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
	case err != nil:
		rpcFail(w, codeUnavailable, err)
	}
}

func (s *Server) serveAddVoter(w http.ResponseWriter, r *http.Request) {
	if req, ok := decodeMember(w, r, false); ok {
		failMembership(w, s.AddVoter(r.Context(), req.ID, req.Addr))
	}
}

func (s *Server) serveRemove(w http.ResponseWriter, r *http.Request) {
	if req, ok := decodeMember(w, r, false); ok {
		setAuditTarget(r, req.ID)
		failMembership(w, s.removeHere(r.Context(), req.ID))
	}
}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(s.host.Status())
}

func (s *Server) removeHere(ctx context.Context, id string) error {
	if s.raft().State() != raft.Leader {
		return ErrNotLeaderHere
	}
	if err := s.host.Await(ctx, s.raft().RemoveServer(raft.ServerID(id), 0, 30*time.Second)); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) { // harmless to repeat
			return ErrNotLeaderHere
		}
		return err
	}
	s.log.Info("member removed", "member", id)
	s.revoke(ctx, id)
	return nil
}

// RemoveMember removes a node from the cluster (through the leader).
func (s *Server) RemoveMember(ctx context.Context, id string) error {
	err := s.removeHere(ctx, id)
	if !errors.Is(err, ErrNotLeaderHere) {
		return err
	}
	body, _ := json.Marshal(memberRequest{ID: id})
	_, err = s.CallLeader(ctx, rpcRemove, body, false)
	return err
}

// AddVoter has the leader add (or re-address) a voter, from any member.
func (s *Server) AddVoter(ctx context.Context, id, addr string) error {
	err := s.addVoterHere(ctx, id, addr)
	if !errors.Is(err, ErrNotLeaderHere) {
		return err
	}
	body, _ := json.Marshal(memberRequest{ID: id, Addr: addr})
	_, err = s.CallLeader(ctx, rpcAddVoter, body, false)
	return err
}

// addVoterHere re-addresses a member (keeping its role: membership.go), or
// adds a voter for an older member serving a join; only the leader can.
func (s *Server) addVoterHere(ctx context.Context, id, addr string) error {
	if s.raft().State() != raft.Leader {
		return ErrNotLeaderHere
	}
	var f raft.IndexFuture
	if s.suffrage(raft.ServerID(id)) < 0 {
		f = s.raft().AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 30*time.Second)
	} else {
		f = s.addServer(raft.ServerID(id), raft.ServerAddress(addr))
	}
	if err := s.host.Await(ctx, f); err != nil {
		// Leadership lost with the change in flight (an election on a
		// busy machine): adding a voter again is harmless, so the caller
		// sends it to the next leader like any "not the leader".
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return ErrNotLeaderHere
		}
		return err
	}
	s.log.Info("voter added", "voter", id, "addr", addr)
	return nil
}

// AnnounceAddress tells the member at via this node's new address; it
// passes it to the leader.
func (s *Server) AnnounceAddress(ctx context.Context, via, id, addr string) error {
	body, _ := json.Marshal(memberRequest{ID: id, Addr: addr})
	return s.client.post(ctx, via, rpcAddVoter, body)
}

// CallLeader sends an RPC to the current leader, waiting (bounded by ctx)
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
func (s *Server) CallLeader(ctx context.Context, path string, body []byte, retried bool) ([]byte, error) {
	return postToLeader(ctx, s.client.hc.Load(), s.waitForLeader, path, body, retried, s)
}

// forwardAttemptTimeout bounds one attempt of a forwarded request when no
// leader change is seen meanwhile: far above a commit on a healthy leader
// (a retry of a slow but healthy write joins the first attempt anyway), far
// below the caller's deadline.
func (s *Server) forwardAttemptTimeout() time.Duration {
	return max(2*time.Second, 20*s.cfg.ElectionTimeout)
}

// leaderWatch is what a member adds to postToLeader: its Raft term,
// stamped on each attempt, and a context for an attempt that ends when the
// member sees a leader other than the one at addr.
type leaderWatch interface {
	currentTerm() uint64
	attemptContext(ctx context.Context, addr, path string) (context.Context, context.CancelFunc)
}

func (s *Server) currentTerm() uint64 { return s.raft().CurrentTerm() }

// attemptContext is ctx for one forwarded attempt to the leader at addr:
// it ends once this node sees a leader at another address, and, for a
// write or a read index, after forwardAttemptTimeout. No leader at all (an
// election running) keeps the attempt going: the old leader may still
// answer. Membership changes get no timeout: a slow one sent again would
// queue another configuration change behind it, and on a loaded machine
// every attempt would time out in turn (a write sent again joins the first
// attempt instead).
func (s *Server) attemptContext(ctx context.Context, addr, path string) (context.Context, context.CancelFunc) {
	actx, cancel := context.WithCancel(ctx)
	if path == rpcPropose || path == rpcReadIdx {
		actx, cancel = context.WithTimeout(ctx, s.forwardAttemptTimeout())
	}
	go func() {
		// Leader observations wake the watch (LeaderObserved); the ticker
		// covers an observation Raft dropped.
		tick := time.NewTicker(s.cfg.ElectionTimeout)
		defer tick.Stop()
		for {
			moved := s.leaderMoved.wait()
			if a, id := s.raft().LeaderWithID(); id != "" && string(a) != addr {
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
func (s *Server) waitForLeader(ctx context.Context) (string, error) {
	for {
		if addr, id := s.raft().LeaderWithID(); id != "" && addr != "" {
			return string(addr), nil
		}
		if s.raft().State() == raft.Shutdown {
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
