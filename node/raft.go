package node

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
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

// Raft timeouts for a LAN or a datacenter (round trips well under a
// millisecond). A follower that hears nothing from the leader for 50-150 ms
// starts an election, so a killed leader is replaced in about 100-200 ms
// (measured: docs/benchmarks.md), short enough that requests waiting for
// the new leader still finish inside the simulator's 0.3 s budget. The
// leader sends heartbeats every 5 ms on their own connection, apart from
// log appends and disk writes, so a slow fsync does not trigger an
// election; the lease lets a leader cut off from its quorum step down
// within 50 ms. Followers learn that entries are committed only from the
// leader's next message; when writes pause, the leader sends one after
// commitTimeout (2-4 ms), which bounds how long a follower's read waits
// for a write it is told about. The price is a few hundred small messages
// a second per follower while idle. Across slow links these would need
// raising; see DESIGN.md.
const (
	heartbeatTimeout = 50 * time.Millisecond
	electionTimeout  = 50 * time.Millisecond
	leaderLease      = 50 * time.Millisecond
	commitTimeout    = 2 * time.Millisecond
)

// raftConfig tunes hashicorp/raft; proposals are batched (up to
// MaxAppendEntries per log append and per ApplyBatch transaction).
func (n *Node) raftConfig() *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(n.nodeID)
	c.Logger = raftLogger(n.log)
	c.HeartbeatTimeout = heartbeatTimeout
	c.ElectionTimeout = electionTimeout
	c.LeaderLeaseTimeout = leaderLease
	c.CommitTimeout = commitTimeout
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
	snapDir := filepath.Join(dir, snapshotsDir)
	files, err := raft.NewFileSnapshotStoreWithLogger(snapDir, 2, raftLogger(n.log))
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
	if n.tls, err = loadNodeTLS(n.cfg.DataDir); err != nil {
		return err
	}
	var joining *joinSession
	switch {
	case !existing && n.fileUnsynced():
		return fmt.Errorf("the data file in %s was left unsynced by an unclean stop and there is no Raft state to rebuild it from; restore from a backup", n.cfg.DataDir)
	case !existing && len(n.cfg.Join) > 0 && applied > 0:
		return fmt.Errorf("data dir %s holds data (applied index %d) but no Raft state: a joining node must start empty and gets its data from the cluster; remove join to start a new cluster on this data, or empty the data dir", n.cfg.DataDir, applied)
	case !existing && len(n.cfg.Join) > 0:
		ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
		joining, err = beginJoin(ctx, n.cfg.Join, n.cfg.JoinToken, n.nodeID, advertise)
		cancel()
		if err != nil {
			return err
		}
		if err := saveNodeTLS(n.cfg.DataDir, joining.tls.caPEM, certPEM(joining.tls), joining.keyPEM); err != nil {
			joining.conn.Close()
			return fmt.Errorf("saving the node certificate: %w", err)
		}
		n.tls = joining.tls
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
	if n.tls == nil {
		// A bootstrapping node (or one from before clusters existed, which
		// is alone in its cluster) makes its own certificate.
		if err := n.makeOwnCertificate(); err != nil {
			return err
		}
	}

	n.cluster = newClusterListener(tls.NewListener(tcpLn, n.tls.serverConfig()), n.log)
	n.rpc = newRPCClient(n.tls)
	n.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  &raftStream{chanListener: chanListener{l: n.cluster, ch: n.cluster.raft}, tls: n.tls},
		MaxPool: 3, Timeout: 10 * time.Second, Logger: raftLogger(n.log),
		// No pipelined replication: hashicorp/raft v1.7.3's pipeline can
		// deadlock when a follower answers with a newer term (its decoder
		// stops reading while the sender blocks on a full in-flight
		// queue), which hung Raft.Shutdown in our tests; pyroscope
		// disabled it for the same reason. The group commit keeps one
		// entry in flight anyway, so a synchronous append per follower
		// costs nothing measurable (docs/benchmarks.md).
		MaxRPCsInFlight: 1,
	})
	n.rpcServer = &http.Server{Handler: n.rpcHandler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelWarn)}
	go n.rpcServer.Serve(ownListener(n.cluster, n.cluster.rpc))
	go n.acceptJoins()

	if err := n.recoverFromPeersJSON(existing, logs); err != nil {
		return err
	}
	n.stable = &guardedStable{StableStore: n.logStore}
	n.raft, err = raft.NewRaft(n.raftConfig(), n.fsm, logs, n.stable, n.snaps, n.transport)
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	switch {
	case joining != nil:
		if err := joining.finish(); err != nil {
			return err
		}
		n.log.Info("joined the cluster", "via", joining.member)
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
	body, _ := json.Marshal(addVoterRequest{ID: n.nodeID, Addr: n.RaftAddr()})
	for {
		for _, s := range n.raft.GetConfiguration().Configuration().Servers {
			if s.ID == raft.ServerID(n.nodeID) {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := n.callMember(cctx, string(s.Address), rpcAddVoter, body)
			cancel()
			if err == nil {
				n.log.Info("announced this node's new address to the cluster", "raft_addr", n.RaftAddr(), "via", s.ID)
				return
			}
			n.log.Warn("announcing this node's new address failed; will retry", "via", s.ID, "err", err.Error())
		}
		if sleepCtx(ctx, 500*time.Millisecond) != nil {
			return
		}
	}
}

// makeOwnCertificate gives a node without one a certificate: from the
// cluster CA in the replicated state if there is one (a node started on a
// restored data file), else from a new CA that this node will propose as
// the cluster's.
func (n *Node) makeOwnCertificate() error {
	var sec store.ClusterSecrets
	n.store.View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil })
	var ca *clusterCA
	var err error
	if len(sec.CACert) > 0 {
		ca, err = parseClusterCA(sec.CACert, sec.CAKey)
	} else {
		ca, err = newClusterCA()
		n.localCA = ca
	}
	if err != nil {
		return err
	}
	key, keyPEM, err := newNodeKey()
	if err != nil {
		return err
	}
	cert, err := ca.issue(n.nodeID, &key.PublicKey)
	if err != nil {
		return err
	}
	if err := saveNodeTLS(n.cfg.DataDir, ca.certPEM, cert, keyPEM); err != nil {
		return fmt.Errorf("saving the node certificate: %w", err)
	}
	n.tls, err = makeNodeTLS(ca.certPEM, cert, keyPEM)
	return err
}

func certPEM(t *nodeTLS) []byte { return pemBlock("CERTIFICATE", t.cert.Certificate[0]) }

// acceptJoins serves join handshakes until the listener closes.
func (n *Node) acceptJoins() {
	for {
		select {
		case conn := <-n.cluster.join:
			go n.serveJoin(conn)
		case <-n.cluster.closed:
			return
		}
	}
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
		if n.raft.State() == raft.Leader && n.secretsMissing() {
			n.initSecrets(ctx)
		}
		// After Start has finished: the announcement names the listener.
		if n.up.Load() && n.raft.State() == raft.Leader && n.reads.IsOpen() && !n.sessionKeyMissing() && !n.firstAdmin.stuck {
			n.ensureFirstAdmin(ctx)
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

// secretsMissing reports whether a cluster secret is still unset.
func (n *Node) secretsMissing() bool {
	var sec store.ClusterSecrets
	n.store.View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil })
	return sec.SessionKey == nil || sec.CACert == nil || sec.JoinToken == nil
}

// initSecrets proposes the missing cluster secrets: a session key, the CA
// this node made at bootstrap, and the join token (the configured one, or a
// random one). The state machine keeps each secret's first value.
func (n *Node) initSecrets(ctx context.Context) {
	sec := raftfsm.InitSecrets{SessionKey: newSessionKey(), JoinToken: []byte(n.cfg.JoinToken)}
	if n.cfg.JoinToken == "" {
		sec.JoinToken = []byte(hex.EncodeToString(newSessionKey()))
	}
	if n.localCA != nil {
		sec.CACert, sec.CAKey = n.localCA.certPEM, n.localCA.keyPEM
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n.Propose(pctx, &sec); err != nil {
		n.log.Warn("initialising cluster secrets failed; will retry", "err", err.Error())
		return
	}
	n.log.Info("initialised cluster secrets")
}

func (n *Node) sessionKeyMissing() bool {
	missing := true
	n.store.View(func(r *store.ReadTx) error { missing = r.SessionKey() == nil; return nil })
	return missing
}

// ReadStore returns the local store once it reflects every write
// acknowledged, and every write another read has already seen, before the
// call (linearizable reads). The read index is the leader's commit index
// when the read arrives: a leader relies on its lease and its read gate
// (which holds reads until the entries committed before its term are
// applied); a follower asks the leader, which confirms it still leads. The
// node then waits until its store has applied that far: an entry can be
// committed, and applied on a follower, before the leader has applied and
// acknowledged it, so even the leader must wait. While there is no leader,
// reads wait (bounded by ctx) rather than serve data nobody can vouch for.
func (n *Node) ReadStore(ctx context.Context) (*store.Store, error) {
	var index uint64
	if n.raft.State() == raft.Leader {
		if err := n.reads.Wait(ctx); err != nil {
			return nil, fmt.Errorf("%w: catching up with the log: %w", ErrUnavailable, err)
		}
		index = n.raft.CommitIndex()
	} else {
		data, err := n.callLeader(ctx, rpcReadIdx, nil, false)
		if err != nil {
			return nil, err
		}
		if index, err = strconv.ParseUint(string(data), 10, 64); err != nil {
			return nil, fmt.Errorf("%w: read index from the leader: %w", ErrUnavailable, err)
		}
	}
	if err := n.waitApplied(ctx, index); err != nil {
		return nil, err
	}
	return n.store, nil
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
