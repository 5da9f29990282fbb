package node

import (
	"context"
	"time"

	"minitwit/node/config"
	"minitwit/raftfsm"
)

// CrashForTest stops a node the way a crash would, as far as the rest of
// the cluster can tell: no leadership transfer, no draining, no final sync.
func (n *Node) CrashForTest() {
	n.closeOnce.Do(func() {
		n.httpSrv.Close()
		if n.redirect != nil {
			n.redirect.Close()
		}
		n.tlsPublic.Stop()
		n.cluster.Close()
		close(n.closing)
		n.stop()
		n.raft.Shutdown().Error()
		close(n.raftDown)
		n.bg.Wait()
		n.transport.Close()
		n.stable.close()
		n.logStore.Close()
		n.store.Close() // the unsynced marker stays: the next start rebuilds
	})
}

// StartHeldForTest starts a node that tells the leader it is not ready to
// vote until ReleaseForTest.
func StartHeldForTest(cfg config.Config, opts Options) (*Node, error) {
	opts.holdReadiness = true
	return Start(cfg, opts)
}

// ReleaseForTest lets a node started with StartHeldForTest report ready.
func (n *Node) ReleaseForTest() { n.heldForTest.Store(false) }

// SnapshotForTest has Raft take a snapshot now.
func (n *Node) SnapshotForTest() error { return n.raft.Snapshot().Error() }

// ConfigForTest is the configuration the node was started with.
func (n *Node) ConfigForTest() config.Config { return n.cfg }

// RaftStatsForTest exposes hashicorp/raft's stats (last_snapshot_index, ...).
func (n *Node) RaftStatsForTest() map[string]string { return n.raft.Stats() }

// ProposeForTest proposes cmd under a chosen request ID, as a first attempt
// or as a retry of one whose outcome is unknown.
func (n *Node) ProposeForTest(ctx context.Context, id raftfsm.RequestID, cmd raftfsm.Command, retry bool) (raftfsm.Result, error) {
	return n.propose(ctx, id, cmd, retry)
}

// PlayOlderBinaryForTest makes the node tell the cluster it reads command
// formats up to format only, as a member still on an older release would.
func (n *Node) PlayOlderBinaryForTest(format int) { n.readsFormat.Store(int64(format)) }

// RenewCertificateForTest renews the node's cluster certificate if it is
// due at the time at (and the node is a member).
func (n *Node) RenewCertificateForTest(at time.Time) (bool, error) { return n.cluster.RenewIfDue(at) }

// BarrierReadsForTest is how many leader reads this node confirmed with a
// barrier because its process may have stalled (leaderReadIndex).
func (n *Node) BarrierReadsForTest() int64 { return n.stalls.barrierReads.Load() }
