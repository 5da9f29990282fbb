package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/node/cluster"
	"minitwit/ops/backup"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Restoring a running cluster: the leader takes the backup as a Raft
// snapshot (raft.Restore), applies it and sends it to every follower by
// snapshot install, so all members switch to the backed-up state at one
// log index and go on from there. The backup keeps the cluster's identity
// (its internode CA and join token), so members, certificates and joins
// stay valid whatever cluster the backup came from; everything else, the
// session key included (so sessions of the replaced state end), is the
// backup's. Writes acknowledged after the backup was taken are gone: this
// is for disaster recovery, and `minitwit restore --cluster` asks first.

// RestoreCluster replaces the whole cluster's state with the backup read
// from r. Only the leader can; the backup is checked whole first.
func (n *Node) RestoreCluster(ctx context.Context, r io.Reader) (backup.Header, error) {
	if n.raft.State() != raft.Leader {
		return backup.Header{}, fmt.Errorf("%w: %w", ErrUnavailable, errNotLeaderHere)
	}
	tmpDir, err := os.MkdirTemp(n.cfg.DataDir, "restore-")
	if err != nil {
		return backup.Header{}, err
	}
	defer os.RemoveAll(tmpDir)
	f, err := os.Create(filepath.Join(tmpDir, storeFile))
	if err != nil {
		return backup.Header{}, err
	}
	h, err := backup.Read(r, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return h, err
	}
	st, err := store.Open(filepath.Join(tmpDir, storeFile), store.Options{InitialMmapSize: 1 << 20})
	if err != nil {
		return h, fmt.Errorf("the backup's data file: %w", err)
	}
	defer st.Close()
	// Without the current identity the restored state would carry the
	// backup's CA and token, locking the members out of each other.
	// The audit trail is kept too: a restore must not erase the record of
	// what was done before it.
	var current store.ClusterSecrets
	var trail []store.AuditEntry
	if err := n.store.View(func(tx *store.ReadTx) error {
		current, trail = tx.Secrets(), tx.Audit(0, store.AuditKeep)
		return nil
	}); err != nil {
		return h, fmt.Errorf("reading the cluster's identity: %w", err)
	}
	if err := st.Update(func(w *store.WriteTx) error {
		if err := w.KeepClusterIdentity(current); err != nil {
			return err
		}
		return w.KeepAuditTrail(trail)
	}); err != nil {
		return h, err
	}
	sn, err := st.BeginSnapshot()
	if err != nil {
		return h, err
	}
	defer sn.Release()
	pr, pw := io.Pipe()
	written := make(chan struct{})
	go func() {
		defer close(written)
		pw.CloseWithError(raftfsm.WriteSnapshot(pw, sn))
	}()
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: sn.AppliedIndex(), Size: 12 + sn.Size()}
	err = n.raft.Restore(meta, pr, time.Until(deadlineOr(ctx, 10*time.Minute)))
	pr.CloseWithError(err)
	// Raft may give up without reading it all (not the leader): the writer
	// stops at its next write, and must have stopped reading the snapshot
	// before it is released.
	<-written
	if errors.Is(err, raft.ErrNotLeader) {
		return h, fmt.Errorf("%w: %w", ErrUnavailable, errNotLeaderHere)
	}
	if errors.Is(err, raft.ErrLeadershipLost) {
		return h, fmt.Errorf("%w: leadership moved during the restore; it may or may not have taken effect: run it again (restoring twice gives the same state)", cluster.ErrOutcomeUnknown)
	}
	if err != nil {
		return h, fmt.Errorf("restoring the cluster: %w", err)
	}
	n.log.Warn("the cluster's state was replaced by a backup", "backup_node", h.Node, "backup_index", h.Index, "backup_created", h.Created)
	return h, nil
}
