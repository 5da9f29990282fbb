package node

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"minitwit/node/cluster"
	"minitwit/node/nodeinfo"
	"minitwit/raftfsm"
	"minitwit/store"
)

// The Raft timeouts come from the configuration (raft.profile and
// raft.*_timeout; config.RaftProfiles says why the lan profile, the
// default, has the values it has). The leader sends heartbeats on their
// own connection, apart from log appends and disk writes, so a slow fsync
// does not trigger an election.

// raftConfig tunes hashicorp/raft; proposals are batched (up to
// MaxAppendEntries per log append and per ApplyBatch transaction).
func (n *Node) raftConfig() *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(n.nodeID)
	c.Logger = raftLogger(n.log)
	t := n.cfg.Raft.Timing()
	c.HeartbeatTimeout = t.HeartbeatTimeout
	c.ElectionTimeout = t.ElectionTimeout
	c.LeaderLeaseTimeout = t.LeaderLeaseTimeout
	c.CommitTimeout = t.CommitTimeout
	c.BatchApplyCh = true
	c.MaxAppendEntries = 128
	// The data file survives restarts and records its applied index, so
	// restoring the last snapshot at start would only rewrite the file with
	// older data and replay the log on top; the FSM skips replayed entries.
	c.NoSnapshotRestoreOnStart = true
	c.SnapshotThreshold = n.cfg.Raft.SnapshotThreshold
	c.TrailingLogs = n.cfg.Raft.TrailingLogs
	c.SnapshotInterval = time.Duration(n.cfg.Raft.SnapshotInterval)
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
	if moved, err := migrateSnapshotDir(dir); err != nil {
		return err
	} else if moved {
		n.log.Info("moved the Raft snapshots from raft/snapshots/snapshots to raft/snapshots")
	}
	// Raft adds the "snapshots" folder itself (snapshotdir.go).
	snapDir := filepath.Join(dir, snapshotsDir)
	files, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, raftLogger(n.log))
	if err != nil {
		return fmt.Errorf("raft snapshots: %w", err)
	}
	tightenSnapshots(dir)
	n.snaps = privateSnapshots{SnapshotStore: files, dir: snapDir}
	// Bind raft_addr first: a joining node tells the cluster its address
	// (with the real port, when raft_addr asks for any) before it has the
	// certificate its listener needs.
	tcpLn, err := net.Listen("tcp", n.cfg.RaftAddr)
	if err != nil {
		return fmt.Errorf("raft_addr %s: %w", n.cfg.RaftAddr, err)
	}
	advertise := tcpLn.Addr().String()
	defer func() {
		if n.cluster == nil {
			tcpLn.Close()
		}
	}()

	existing, err := raft.HasExistingState(logs, n.logStore, n.snaps)
	if err != nil {
		return fmt.Errorf("raft state: %w", err)
	}
	applied, err := n.appliedIndex()
	if err != nil {
		return err
	}
	if n.tls, err = cluster.LoadTLS(n.cfg.DataDir); err != nil {
		return err
	}
	if n.tls != nil {
		// A CA this node made whose key the cluster does not hold yet
		// (firststart.go).
		if n.localCA, err = cluster.LoadPendingCA(n.cfg.DataDir, n.tls); err != nil {
			return err
		}
	}
	var joining *cluster.JoinSession
	switch {
	case !existing && n.fileUnsynced():
		return fmt.Errorf("the data file in %s was left unsynced by an unclean stop and there is no Raft state to rebuild it from; restore from a backup", n.cfg.DataDir)
	case !existing && len(n.cfg.Join) > 0 && applied > 0:
		return fmt.Errorf("data dir %s holds data (applied index %d) but no Raft state: a joining node must start empty and gets its data from the cluster; remove join to start a new cluster on this data, or empty the data dir", n.cfg.DataDir, applied)
	case !existing && len(n.cfg.Join) > 0:
		ctx, cancel := context.WithTimeout(context.Background(), cluster.JoinTimeout)
		joining, err = cluster.BeginJoin(ctx, n.cfg.Join, n.cfg.JoinToken, n.nodeID, advertise)
		cancel()
		if err != nil {
			return err
		}
		if err := cluster.SaveTLS(n.cfg.DataDir, joining.TLS().CAPEM(), joining.TLS().CertPEM(), joining.KeyPEM()); err != nil {
			_ = joining.Close() // the save's error is the one to report
			return fmt.Errorf("saving the node certificate: %w", err)
		}
		n.tls = joining.TLS()
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
		n.warnIgnoredJoinToken()
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
	if n.tls == nil {
		// A bootstrapping node (or one from before clusters existed, which
		// is alone in its cluster) makes its own certificate.
		if err := n.makeOwnCertificate(); err != nil {
			return err
		}
	}

	n.tls.Dial = n.dialCluster
	t := n.cfg.Raft.Timing()
	n.cluster = cluster.Serve(tcpLn, n.tls, clusterHost{n}, cluster.Config{Log: n.log,
		RefusalLogInterval: n.refusalLogInterval, ElectionTimeout: t.ElectionTimeout, RaftTiming: t.String(),
		JoinerBound: n.joinerBound, DataDir: n.cfg.DataDir})
	n.transport = newMainThreadTransport(raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  n.cluster.RaftStream(),
		MaxPool: 3, Timeout: 10 * time.Second, Logger: raftLogger(n.log),
		// No pipelined replication: hashicorp/raft v1.7.3's pipeline can
		// deadlock when a follower answers with a newer term (its decoder
		// stops reading while the sender blocks on a full in-flight
		// queue), which hung Raft.Shutdown in our tests; pyroscope
		// disabled it for the same reason. The group commit keeps one
		// entry in flight anyway, so a synchronous append per follower
		// costs nothing measurable (docs/benchmarks.md).
		MaxRPCsInFlight: 1,
	}))

	if err := n.recoverFromPeersJSON(existing, logs); err != nil {
		return err
	}
	n.stable = &guardedStable{StableStore: n.logStore}
	n.raft, err = raft.NewRaft(n.raftConfig(), n.fsm, logs, n.stable, n.snaps, n.transport)
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	n.transport.attach(n.raft)
	n.cluster.SetRaft(n.raft)
	switch {
	case joining != nil:
		if err := joining.Finish(); err != nil {
			return err
		}
		n.log.Info("joined the cluster as a non-voter; the leader makes it a voter once it has caught up and serves", "via", joining.Member())
	case !existing:
		boot := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: raft.ServerID(n.nodeID), Address: raft.ServerAddress(advertise),
		}}}
		if err := n.raft.BootstrapCluster(boot).Error(); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		n.log.Info("bootstrapped a new single-node cluster", "node_id", n.nodeID)
	default:
		n.addrChanged = n.addressChanged(advertise)
	}
	return n.enterUnsyncedMode()
}

// addressChanged reports whether the cluster knows this node at another
// address than the one it listens on now.
func (n *Node) addressChanged(advertise string) bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == raft.ServerID(n.nodeID) {
			return string(s.Address) != advertise
		}
	}
	return false
}

// announceAddress tells the cluster this node's new address. The leader
// cannot reach it at the old one, so it asks the other members, who pass it
// to the leader; it retries until one succeeds.
func (n *Node) announceAddress(ctx context.Context) {
	for {
		for _, s := range n.raft.GetConfiguration().Configuration().Servers {
			if s.ID == raft.ServerID(n.nodeID) {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := n.cluster.AnnounceAddress(cctx, string(s.Address), n.nodeID, n.RaftAddr())
			cancel()
			if err == nil {
				n.log.Info("announced this node's new address to the cluster", "raft_addr", n.RaftAddr(), "via", s.ID)
				return
			}
			n.log.Warn("announcing this node's new address failed; will retry", "via", s.ID, "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// makeOwnCertificate gives a node without one a certificate: from the
// cluster CA in the replicated state if there is one (a node started on a
// restored data file), else from a new CA that this node will propose as
// the cluster's.
func (n *Node) makeOwnCertificate() error {
	// A failed read must stop here: read as "no cluster CA", it would mint
	// a second CA that the other members do not trust.
	var sec store.ClusterSecrets
	if err := n.store.View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil }); err != nil {
		return fmt.Errorf("reading the cluster CA: %w", err)
	}
	var ca *cluster.CA
	var err error
	if len(sec.CACert) > 0 {
		ca, err = cluster.ParseCA(sec.CACert, sec.CAKey)
	} else {
		ca, err = cluster.NewCA()
		n.localCA = ca
	}
	if err != nil {
		return err
	}
	if n.localCA != nil {
		// Before the certificate it signs: see firststart.go.
		if err := cluster.SavePendingCA(n.cfg.DataDir, n.localCA); err != nil {
			return fmt.Errorf("saving the cluster CA: %w", err)
		}
	}
	key, keyPEM, err := cluster.NewNodeKey()
	if err != nil {
		return err
	}
	cert, err := ca.Issue(n.nodeID, &key.PublicKey)
	if err != nil {
		return err
	}
	if err := cluster.SaveTLS(n.cfg.DataDir, ca.CertPEM(), cert, keyPEM); err != nil {
		return fmt.Errorf("saving the node certificate: %w", err)
	}
	n.tls, err = cluster.MakeTLS(ca.CertPEM(), cert, keyPEM)
	return err
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
	secretsStuck := false
	for {
		if n.raft.State() != raft.Leader {
			n.reads.Close()
		} else if !n.reads.IsOpen() {
			// Everything committed before this term must be applied
			// before the new leader serves a read.
			bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := n.await(bctx, n.raft.Barrier(5*time.Second))
			cancel()
			switch {
			case ctx.Err() != nil:
				return // stopping
			case err != nil:
				n.log.Warn("leader barrier failed; reads stay held", "err", err.Error())
			default:
				n.reads.Open()
			}
		}
		if n.raft.State() == raft.Leader && n.secretsMissing() && !secretsStuck {
			secretsStuck = n.initSecrets(ctx)
		}
		n.forgetPendingCA()
		// After Start has finished: the announcement names the listener.
		if n.up.Load() && !n.tool && n.raft.State() == raft.Leader && n.reads.IsOpen() && !n.sessionKeyMissing() && !n.firstAdmin.stuck {
			n.ensureFirstAdmin(ctx)
		}
		if n.up.Load() && n.raft.State() == raft.Leader && n.reads.IsOpen() {
			n.ensureFoldedNames(ctx)
		}
		if !n.unsynced.Load() && !n.sessionKeyMissing() {
			n.takeFirstSnapshot(ctx)
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

func (n *Node) takeFirstSnapshot(ctx context.Context) {
	if !n.hasSnapshot() {
		if n.store.FileSize() > eagerSnapshotBytes {
			return // keep syncing until Raft's scheduled snapshot exists
		}
		// Not cut short by a stop: Raft would log the snapshot it was
		// still taking as failed once shut down under it, an ERROR line
		// on every quick stop (an admin tool's node); the file is small.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := n.await(sctx, n.raft.Snapshot())
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return // stopping
			}
			// Nothing applied in this process yet (a node started on
			// restored data): routine, the next check retries.
			lvl := slog.LevelWarn
			if errors.Is(err, raft.ErrNothingNewToSnapshot) {
				lvl = slog.LevelDebug
			}
			n.log.Log(ctx, lvl, "first snapshot failed; will retry", "err", err.Error())
			return
		}
	}
	if err := n.enterUnsyncedMode(); err != nil {
		n.log.Warn("switching the data file to unsynced commits failed; it keeps syncing", "err", err.Error())
	}
}

// warnIgnoredJoinToken says, once at start, that a configured join token
// differing from the cluster's is not applied: the token in the replicated
// state rules, and only `minitwit cluster token --rotate` changes it
// (node/cluster/DESIGN.md). The local copy may lag a rotation made while
// this node was down; the line names the command that settles it.
func (n *Node) warnIgnoredJoinToken() {
	if n.cfg.JoinToken == "" {
		return
	}
	var stored []byte
	if err := n.store.View(func(r *store.ReadTx) error { stored = r.Secrets().JoinToken; return nil }); err != nil || stored == nil {
		return
	}
	if subtle.ConstantTimeCompare(stored, []byte(n.cfg.JoinToken)) != 1 {
		n.log.Warn("the configured join_token (MINITWIT_JOIN_TOKEN, --join-token) differs from the cluster's and is not applied: the cluster's stored token admits joiners; change it with `minitwit cluster token --rotate`, then update or remove the configured one")
	}
}

// secretsMissing reports whether a cluster secret is still unset. A failed
// read says no: proposing secrets on a guess is not needed, the next check
// reads again.
func (n *Node) secretsMissing() bool {
	var sec store.ClusterSecrets
	if err := n.store.View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil }); err != nil {
		n.log.Warn("reading the cluster secrets failed", "err", err.Error())
		return false
	}
	return sec.SessionKey == nil || sec.CACert == nil || sec.JoinToken == nil
}

// initSecrets proposes the missing cluster secrets: a session key, the CA
// this node made at bootstrap, and the join token (the configured one, or a
// random one). The state machine keeps each secret's first value. It
// reports stuck when the proposal went through and a secret is still
// missing: proposing again would change nothing (see firststart.go).
func (n *Node) initSecrets(ctx context.Context) (stuck bool) {
	sec := raftfsm.InitSecrets{SessionKey: newSessionKey(), JoinToken: []byte(n.cfg.JoinToken)}
	if n.cfg.JoinToken == "" {
		sec.JoinToken = []byte(hex.EncodeToString(newSessionKey()))
	}
	if n.localCA != nil {
		sec.CACert, sec.CAKey = n.localCA.CertPEM(), n.localCA.KeyPEM()
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n.Propose(pctx, &sec); err != nil {
		if ctx.Err() == nil { // a stop cuts the wait short: nothing to retry
			n.log.Warn("initialising cluster secrets failed; will retry", "err", err.Error())
		}
		return false
	}
	if n.secretsMissing() {
		n.log.Error("the cluster has no CA and this node has none to propose (a first start that failed midway, before this version kept the CA key): no node can join; start this node on a new data dir (after `minitwit backup` if it holds data)")
		return true
	}
	n.log.Info("initialised cluster secrets")
	return false
}

// sessionKeyMissing reports whether the session key is unset; a failed read
// counts as missing, which only holds back readiness and the first admin.
func (n *Node) sessionKeyMissing() bool {
	missing := true
	if err := n.store.View(func(r *store.ReadTx) error { missing = r.SessionKey() == nil; return nil }); err != nil {
		return true
	}
	return missing
}

// ReadStore returns the local store once it reflects every write
// acknowledged, and every write another read has already seen, before the
// call (linearizable reads). The read index is the leader's commit index
// when the read arrives, vouched for by a round of heartbeats that a quorum
// answers (leaderReadIndex): a leader serves a read only once it has
// confirmed it still leads, so a leader that was deposed without knowing it
// yet (cut off within its lease, or its process paused) cannot serve a
// stale read. A follower asks the leader for the index. The node then
// waits until its store has applied that far: an entry can be committed,
// and applied on a follower, before the leader has applied and
// acknowledged it, so even the leader must wait. While there is no leader,
// reads wait (bounded by ctx) rather than serve data nobody can vouch for.
func (n *Node) ReadStore(ctx context.Context) (*store.Store, error) {
	index, err := n.leaderReadIndex(ctx)
	if errors.Is(err, errNotLeaderHere) {
		// Not the leader, or no longer: ask the one there is (waiting,
		// bounded by ctx, while there is none).
		if index, err = n.cluster.ReadIndex(ctx); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if err := n.waitApplied(ctx, index); err != nil {
		return nil, err
	}
	return n.store, nil
}

// leaderReadIndex is the read index of a read on the leader: its commit
// index when the read arrives, once the read gate is open (the index
// covers every write acknowledged in earlier terms) and the leader has
// confirmed that no other leader was elected meanwhile. The lease alone
// does not do: a leader checks it on a timer, and a leader whose process
// was paused (a VM stall, SIGSTOP) resumes believing it leads while the
// others elected a new leader and committed writes; reads it served
// locally before its next check would be stale.
//
// The confirmation is a round of heartbeats answered by a quorum
// (raft.VerifyLeader; concurrent reads share rounds), which costs one
// internode round trip (followers' reads already paid it). Right after
// this process stalled that is not enough: hashicorp/raft counts any
// answer that arrives after the call, and answers to heartbeats sent
// before the stall, from followers that have since elected another
// leader, wait in the sockets (the cluster e2e test that SIGSTOPs the
// leader for 300 ms saw 7 of 21 reads served stale that way). So when the
// stall watch says the process may have stalled within a heartbeat
// timeout and a lease before the read, or while it was being confirmed,
// the leader commits a barrier instead: an entry appended after the read
// arrived, which only answers to requests that carried it can commit.
// A sole voter has nothing to confirm. errNotLeaderHere: this node does
// not lead, or found out it no longer does.
func (n *Node) leaderReadIndex(ctx context.Context) (uint64, error) {
	if n.raft.State() != raft.Leader {
		return 0, errNotLeaderHere
	}
	if err := n.reads.Wait(ctx); err != nil {
		return 0, fmt.Errorf("%w: catching up with the log: %w", ErrUnavailable, err)
	}
	arrived := n.stalls.now()
	index := n.raft.CommitIndex()
	if n.soleVoter() {
		return index, nil // nobody else can be elected: nothing to confirm
	}
	t := n.cfg.Raft.Timing()
	confirm := func(f raft.Future) error {
		if err := n.await(ctx, f); err != nil {
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
				return errNotLeaderHere
			}
			return fmt.Errorf("%w: confirming leadership: %w", ErrUnavailable, err)
		}
		return nil
	}
	if !n.stalls.stalledSince(arrived - t.HeartbeatTimeout - t.LeaderLeaseTimeout) {
		if err := confirm(n.raft.VerifyLeader()); err != nil {
			return 0, err
		}
		if !n.stalls.stalledSince(arrived) {
			return index, nil
		}
	}
	n.stalls.barrierReads.Add(1)
	if err := confirm(n.raft.Barrier(0)); err != nil {
		return 0, err
	}
	return index, nil
}

// soleVoter reports whether this node is the only voter in the latest
// configuration (the one Raft counts quorums in).
func (n *Node) soleVoter() bool {
	voters := 0
	for _, s := range n.raft.GetConfiguration().Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	return voters < 2
}

// waitApplied returns once this node's store holds every log entry up to
// index. The FSM's index only moves on entries it sees, so once Raft has
// handed the FSM everything up to index, the wait is for the last entry at
// or below index that the FSM sees (usually index itself).
func (n *Node) waitApplied(ctx context.Context, index uint64) error {
	var poll *time.Timer
	resolved := false
	for {
		advanced := n.fsm.Advanced()
		applied := n.fsm.AppliedIndex()
		if applied >= index {
			return nil
		}
		if !resolved && n.raft.AppliedIndex() >= index {
			index, resolved = n.lastFSMEntry(applied, index), true
			continue
		}
		// Raft's own applied index moves without a signal: look again
		// after a millisecond even if the FSM stays quiet.
		if poll == nil {
			poll = time.NewTimer(time.Millisecond)
			defer poll.Stop()
		} else {
			poll.Reset(time.Millisecond)
		}
		select {
		case <-advanced:
		case <-poll.C:
		case <-ctx.Done():
			return fmt.Errorf("%w: catching up to read index %d: %w", ErrUnavailable, index, ctx.Err())
		}
	}
}

// lastFSMEntry is the highest index in (after, upTo] of an entry the FSM
// sees (a command or a configuration change), or after if there is none.
// An entry no longer in the log was compacted into a snapshot, which means
// it is already in the store.
func (n *Node) lastFSMEntry(after, upTo uint64) uint64 {
	// Everything up to the newest snapshot is in the store, whether this
	// node took the snapshot or restored it (an install, or a cluster
	// restore, after which the log may still hold older entries the FSM
	// will never see again).
	snap, _ := strconv.ParseUint(n.raft.Stats()["last_snapshot_index"], 10, 64)
	if upTo <= snap {
		return after
	}
	for i := upTo; i > max(after, snap); i-- {
		var l raft.Log
		if err := n.logStore.GetLog(i, &l); err != nil {
			return after
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return i
		}
	}
	return after
}

// Members maps each member's id to its internode address.
func (n *Node) Members() map[string]string {
	out := map[string]string{}
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return out
	}
	for _, s := range f.Configuration().Servers {
		out[string(s.ID)] = string(s.Address)
	}
	return out
}

// Status reports the node's role and progress for /readyz.
func (n *Node) Status() nodeinfo.Status {
	r := n.raft
	st := nodeinfo.Status{NodeID: n.nodeID}
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
