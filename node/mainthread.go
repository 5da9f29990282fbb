package node

import (
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// mainThreadTransport is the Raft transport with hashicorp/raft's heartbeat
// fast path narrowed to the one case where it is safe: a follower hearing
// its own term's leader. Every other heartbeat (a newer term, or one that
// reaches a leader or a candidate) goes to Raft's main goroutine like any
// other RPC, so the node's term and role only ever change there.
//
// Why not the plain fast path: hashicorp/raft v1.7.3 handles every
// heartbeat on the transport's goroutine (processHeartbeat), and a
// heartbeat from a newer term sets the node's term and state there, while
// the main goroutine may be in the middle of its leader loop. A leader
// that was paused (SIGSTOP, a VM stall) and resumes with client writes
// queued can then append them stamped with the new leader's term
// (dispatchLogs reads the term when it writes): its entry has the same
// index and term as the new leader's entry there (its no-op, say), so the
// new leader's AppendEntries sees no conflict and never replaces it, and
// the old leader applies its own entry as committed. The replicas' states
// diverge silently: the process e2e test that pauses the leader saw a
// write forwarded to the old leader applied on it as well as retried and
// applied on the new leader (upstream: hashicorp raft issue 695, "Data
// divergence due to Async Heartbeat").
//
// Why not turn the fast path off altogether (as this type first did): a
// follower's main goroutine is busy for as long as it installs a snapshot
// or stores a batch of entries, and a heartbeat queued behind that is not
// answered. When both followers of three install a snapshot at once (a
// cluster restore) the leader hears from no quorum for longer than its
// lease and steps down: `restore --cluster` then failed with "leadership
// moved" whenever a second test suite loaded the machine. A same-term
// heartbeat to a follower only records the leader's contact (it carries
// no entries and no commit index), which the main goroutine does not need
// to see first.
type mainThreadTransport struct {
	*raft.NetworkTransport
	rpcs   chan raft.RPC                  // what Raft's main goroutine consumes
	node   atomic.Pointer[raft.Raft]      // set once Raft runs (attach)
	fast   atomic.Pointer[func(raft.RPC)] // Raft's own heartbeat handler
	stop   chan struct{}
	closed sync.Once
}

// newMainThreadTransport wraps t, which must not be used directly after
// this; Close closes both.
func newMainThreadTransport(t *raft.NetworkTransport) *mainThreadTransport {
	m := &mainThreadTransport{NetworkTransport: t, rpcs: make(chan raft.RPC), stop: make(chan struct{})}
	t.SetHeartbeatHandler(m.heartbeat)
	go m.relay()
	return m
}

// attach names the Raft instance whose state decides which heartbeats take
// the fast path; until then every heartbeat goes to the main goroutine.
func (m *mainThreadTransport) attach(r *raft.Raft) { m.node.Store(r) }

// SetHeartbeatHandler keeps Raft's handler for the heartbeats that are
// safe to answer off its main goroutine.
func (m *mainThreadTransport) SetHeartbeatHandler(cb func(raft.RPC)) {
	if cb == nil {
		m.fast.Store(nil)
		return
	}
	m.fast.Store(&cb)
}

// Consumer is every RPC for Raft's main goroutine: the transport's own and
// the heartbeats heartbeat does not answer itself.
func (m *mainThreadTransport) Consumer() <-chan raft.RPC { return m.rpcs }

// Close stops the relay and closes the transport.
func (m *mainThreadTransport) Close() error {
	m.closed.Do(func() { close(m.stop) })
	return m.NetworkTransport.Close()
}

// heartbeat runs on the transport's goroutine for each heartbeat received.
// The check and Raft's handling are not atomic: a same-term follower's
// term and role only move on when its main goroutine starts an election,
// and then Raft's handler refuses the heartbeat as stale, as it would with
// the plain fast path (whose one remaining race, an election starting
// between that handler's own reads, this does not widen).
func (m *mainThreadTransport) heartbeat(rpc raft.RPC) {
	r, fast := m.node.Load(), m.fast.Load()
	req, ok := rpc.Command.(*raft.AppendEntriesRequest)
	if ok && r != nil && fast != nil && r.State() == raft.Follower && req.Term == r.CurrentTerm() {
		(*fast)(rpc)
		return
	}
	m.toMain(rpc)
}

// relay passes the transport's other RPCs to the main goroutine.
func (m *mainThreadTransport) relay() {
	in := m.NetworkTransport.Consumer()
	for {
		select {
		case rpc := <-in:
			m.toMain(rpc)
		case <-m.stop:
			return
		}
	}
}

func (m *mainThreadTransport) toMain(rpc raft.RPC) {
	select {
	case m.rpcs <- rpc:
	case <-m.stop:
		rpc.Respond(nil, raft.ErrTransportShutdown)
	}
}
