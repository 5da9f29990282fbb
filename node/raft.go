package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"minitwit/httpui"
	"minitwit/raftfsm"
	"minitwit/store"
)

// ErrUnavailable wraps every reason a proposal or read cannot be served
// right now (no leader, shutting down, timed out). It is retryable; callers
// answer 503. A write that failed this way may still have been committed.
var ErrUnavailable = errors.New("node unavailable")

// Raft timeouts. A node that is its cluster's only voter has nobody to
// wait for: it starts with short timeouts so that it elects itself within
// 50-100 ms of starting. With other voters the LAN values apply: a lost
// leader is noticed and replaced within about half a second.
const (
	soloTimeout   = 50 * time.Millisecond
	lanTimeout    = 250 * time.Millisecond
	leaderLease   = 50 * time.Millisecond // must not exceed the heartbeat timeout
	commitTimeout = 20 * time.Millisecond
)

// raftConfig tunes hashicorp/raft; proposals are batched (up to
// MaxAppendEntries per log append and per ApplyBatch transaction).
func (n *Node) raftConfig() *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(n.nodeID)
	c.Logger = raftLogger(n.log)
	c.HeartbeatTimeout = soloTimeout
	c.ElectionTimeout = soloTimeout
	c.LeaderLeaseTimeout = leaderLease
	c.CommitTimeout = commitTimeout
	c.BatchApplyCh = true
	c.MaxAppendEntries = 128
	// The data file survives restarts and records its applied index, so
	// restoring the last snapshot at start would only rewrite the file with
	// older data and replay the log on top; the FSM skips replayed entries.
	c.NoSnapshotRestoreOnStart = true
	return c
}

func (n *Node) startRaft() error {
	dir := filepath.Join(n.cfg.DataDir, raftDir)
	var err error
	n.logStore, err = raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(dir, raftLogFile),
		// The log file is small (trailing entries only) and rewritten
		// constantly: not syncing its freelist saves pages on every append,
		// and rebuilding the freelist at open is a short scan.
		BoltOptions: &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
	})
	if err != nil {
		return fmt.Errorf("raft log %s: %w", filepath.Join(dir, raftLogFile), err)
	}
	logs, err := raft.NewLogCache(1024, n.logStore)
	if err != nil {
		return err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, snapshotsDir), 2, raftLogger(n.log))
	if err != nil {
		return fmt.Errorf("raft snapshots: %w", err)
	}
	n.snaps = snaps
	n.transport, err = raft.NewTCPTransportWithLogger(n.cfg.RaftAddr, nil, 3, 10*time.Second, raftLogger(n.log))
	if err != nil {
		return fmt.Errorf("raft_addr %s: %w", n.cfg.RaftAddr, err)
	}

	existing, err := raft.HasExistingState(logs, n.logStore, snaps)
	if err != nil {
		return fmt.Errorf("raft state: %w", err)
	}
	applied, err := n.appliedIndex()
	if err != nil {
		return err
	}
	switch {
	case !existing && n.fileUnsynced():
		return fmt.Errorf("the data file in %s was left unsynced by an unclean stop and there is no Raft state to rebuild it from; restore from a backup", n.cfg.DataDir)
	case !existing && len(n.cfg.Join) > 0:
		return errors.New("join: this build runs single-node clusters only; joining an existing cluster is not available yet (start without --join)")
	case !existing:
		if applied > 0 {
			// A data file without a Raft log (a restored or seeded file):
			// it becomes the base state of a new log that starts at 1.
			n.log.Info("starting a new cluster on existing data", "previous_applied_index", applied)
			if err := n.store.ResetAppliedIndex(); err != nil {
				return err
			}
		}
	default:
		if len(n.cfg.Join) > 0 {
			n.log.Info("data dir already belongs to a cluster; ignoring join", "join", n.cfg.Join)
		}
		switch {
		case n.fileUnsynced():
			err = n.rebuildFromSnapshot("the last stop was unclean")
		case applied == 0:
			err = n.rebuildFromSnapshot("the data file is empty")
		}
		if err != nil {
			return err
		}
	}

	n.raft, err = raft.NewRaft(n.raftConfig(), n.fsm, logs, n.logStore, snaps, n.transport)
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	if !existing {
		boot := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: raft.ServerID(n.nodeID), Address: n.transport.LocalAddr(),
		}}}
		if err := n.raft.BootstrapCluster(boot).Error(); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		n.log.Info("bootstrapped a new single-node cluster", "node_id", n.nodeID)
	}
	if err := n.enterUnsyncedMode(); err != nil {
		return err
	}
	return n.tuneTimeouts()
}

// tuneTimeouts switches to the LAN timeouts unless this node is its
// cluster's only voter.
func (n *Node) tuneTimeouts() error {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raft configuration: %w", err)
	}
	voters := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	if voters <= 1 {
		return nil
	}
	c := n.raft.ReloadableConfig()
	c.HeartbeatTimeout, c.ElectionTimeout = lanTimeout, lanTimeout
	return n.raft.ReloadConfig(c)
}

func (n *Node) appliedIndex() (uint64, error) {
	var applied uint64
	err := n.store.View(func(r *store.ReadTx) error { applied = r.AppliedIndex(); return nil })
	return applied, err
}

// watchLeadership initialises cluster secrets whenever this node becomes
// leader and finds them missing (the first leader of a new cluster), and
// takes the first snapshot as soon as there is state, after which the data
// file may commit without fsync (see durability.go).
func (n *Node) watchLeadership(ctx context.Context) {
	leaderCh := n.raft.LeaderCh()
	check := time.NewTicker(time.Second)
	defer check.Stop()
	for {
		if n.raft.State() != raft.Leader {
			n.reads.Close()
		} else if !n.reads.IsOpen() {
			// Everything committed before this term must be applied
			// before the new leader serves a read.
			if err := n.raft.Barrier(5 * time.Second).Error(); err != nil {
				n.log.Warn("leader barrier failed; reads stay held", "err", err.Error())
			} else {
				n.reads.Open()
			}
		}
		if n.raft.State() == raft.Leader && n.sessionKeyMissing() {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if _, err := n.Propose(pctx, &raftfsm.InitSecrets{SessionKey: newSessionKey()}); err != nil {
				n.log.Warn("initialising cluster secrets failed; will retry", "err", err.Error())
			} else {
				n.log.Info("initialised cluster secrets")
			}
			cancel()
		}
		if !n.unsynced.Load() && !n.sessionKeyMissing() {
			n.takeFirstSnapshot()
		}
		select {
		case <-ctx.Done():
			return
		case <-leaderCh:
		case <-check.C:
		}
	}
}

// eagerSnapshotBytes bounds the data file size for which the node takes
// its first snapshot at once. A larger file (a node started on restored
// data) waits for Raft's own snapshot schedule instead of reading the whole
// file right at start, while it is serving its first requests.
const eagerSnapshotBytes = 32 << 20

func (n *Node) takeFirstSnapshot() {
	if !n.hasSnapshot() {
		if n.store.FileSize() > eagerSnapshotBytes {
			return // keep syncing until Raft's scheduled snapshot exists
		}
		if err := n.raft.Snapshot().Error(); err != nil {
			n.log.Warn("first snapshot failed; will retry", "err", err.Error())
			return
		}
	}
	if err := n.enterUnsyncedMode(); err != nil {
		n.log.Warn("switching the data file to unsynced commits failed; it keeps syncing", "err", err.Error())
	}
}

func (n *Node) sessionKeyMissing() bool {
	missing := true
	n.store.View(func(r *store.ReadTx) error { missing = r.SessionKey() == nil; return nil })
	return missing
}

// ReadStore returns the local store for a read. A leader applies every
// write before acknowledging it, and its read gate holds reads until the
// entries committed before its term are applied, so its store is current.
// A node without a leader refuses rather than serve data it cannot vouch
// for. (Read-index reads on followers arrive with clustering.)
func (n *Node) ReadStore(ctx context.Context) (*store.Store, error) {
	r := n.raft
	if r.State() != raft.Leader {
		if _, id := r.LeaderWithID(); id == "" {
			return nil, fmt.Errorf("%w: no leader", ErrUnavailable)
		}
		return n.store, nil
	}
	if err := n.reads.Wait(ctx); err != nil {
		return nil, fmt.Errorf("%w: catching up with the log: %w", ErrUnavailable, err)
	}
	return n.store, nil
}

// Status reports the node's role and progress for /readyz.
func (n *Node) Status() httpui.Status {
	r := n.raft
	st := httpui.Status{NodeID: n.nodeID}
	_, leader := r.LeaderWithID()
	st.Leader = string(leader)
	st.AppliedIndex, st.CommitIndex = r.AppliedIndex(), r.CommitIndex()
	switch r.State() {
	case raft.Leader:
		st.Role = "leader"
	case raft.Follower:
		st.Role = "follower"
	case raft.Candidate:
		st.Role = "candidate"
	default:
		st.Role = "shutdown"
	}
	switch {
	case st.Role != "leader" && st.Role != "follower":
		st.Reason = "no stable role (" + st.Role + ")"
	case leader == "":
		st.Reason = "no leader"
	case st.Role == "leader" && !n.reads.IsOpen():
		st.Reason = "applying the log before serving"
	case n.sessionKeyMissing():
		st.Reason = "cluster secrets not initialised yet"
	default:
		st.Ready = true
	}
	return st
}

func containsIP(prefixes []netip.Prefix, ip string) bool {
	a := netip.MustParseAddr(ip)
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
