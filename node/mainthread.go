package node

import "github.com/hashicorp/raft"

// mainThreadTransport is the Raft transport with hashicorp/raft's heartbeat
// fast path turned off, so that every RPC, heartbeats included, is handled
// by Raft's main goroutine, as the algorithm assumes.
//
// Why: hashicorp/raft v1.7.3 handles a heartbeat on the transport's
// goroutine (processHeartbeat), and a heartbeat from a newer term sets the
// node's term and state there, while the main goroutine may be in the
// middle of its leader loop. A leader that was paused (SIGSTOP, a VM
// stall) and resumes with client writes queued can then append them
// stamped with the new leader's term (dispatchLogs reads the term when it
// writes): its entry has the same index and term as the new leader's
// entry there (its no-op, say), so the new leader's AppendEntries sees no
// conflict and never replaces it, and the old leader applies its own
// entry as committed. The replicas' states diverge silently: the process
// e2e test that pauses the leader saw a write forwarded to the old leader
// applied on it as well as retried and applied on the new leader, so the
// old leader held the tweet twice and the others once (upstream: hashicorp
// raft issue 695, "Data divergence due to Async Heartbeat").
//
// Without the fast path a term change happens only on the main goroutine,
// between two iterations of the leader loop, which checks its state before
// each one: an entry is only ever stamped with a term this node won. The
// cost is that a heartbeat waits while the main goroutine stores entries
// (it already waits for them on the same node when they come by
// AppendEntries), which only delays the leader's view of its followers by
// one log append.
type mainThreadTransport struct{ *raft.NetworkTransport }

// SetHeartbeatHandler ignores the fast-path handler: heartbeats then reach
// Raft through the transport's consumer channel like any other RPC.
func (mainThreadTransport) SetHeartbeatHandler(func(raft.RPC)) {}
