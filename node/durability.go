package node

import (
	"fmt"
	"os"
	"path/filepath"
)

// The data file's durability comes from Raft, not from its own fsyncs.
//
// Every acknowledged write is in the fsynced Raft log, and a Raft snapshot
// plus the log entries after it always rebuild the state. So once a snapshot
// exists, the data file commits without fsync (one bbolt commit costs two
// fdatasyncs; skipping them halves the fsyncs per write), and a marker file
// records that the file may be behind or torn after a crash. A clean
// shutdown syncs the file and removes the marker. A start that finds the
// marker does not trust the file: it restores the newest snapshot into a
// new, synced file, and Raft replays the log after it.
//
// Until the first snapshot exists (a new cluster, or one started on
// restored data) the file commits with fsync, so it is always trustworthy;
// a node with a small file takes a snapshot right after its first
// leadership to get there, a large one waits for Raft's schedule.
const unsyncedMarker = "data-file-unsynced"

func (n *Node) markerPath() string { return filepath.Join(n.cfg.DataDir, unsyncedMarker) }

func (n *Node) fileUnsynced() bool {
	_, err := os.Stat(n.markerPath())
	return err == nil
}

// rebuildFromSnapshot restores the newest snapshot into a new data file
// (Raft then replays the log after it). It runs at start when the last stop
// left the file unsynced, or when the file is empty (it was lost).
func (n *Node) rebuildFromSnapshot(reason string) error {
	list, err := n.snaps.List()
	if err != nil {
		return fmt.Errorf("%s: listing snapshots: %w", reason, err)
	}
	if len(list) == 0 {
		if n.fileUnsynced() {
			return fmt.Errorf("%s: no Raft snapshot exists to rebuild the data file from; restore from a backup", reason)
		}
		return nil // an empty file and no snapshot: the log replays from its start
	}
	meta, rc, err := n.snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("%s: open snapshot %s: %w", reason, list[0].ID, err)
	}
	n.log.Warn(reason+"; rebuilding the data file from the newest snapshot and the Raft log",
		"snapshot", meta.ID, "index", meta.Index)
	return n.fsm.Restore(rc)
}

// hasSnapshot reports whether Raft holds at least one snapshot.
func (n *Node) hasSnapshot() bool {
	list, err := n.snaps.List()
	return err == nil && len(list) > 0
}

// enterUnsyncedMode turns off the data file's fsyncs once a snapshot exists:
// the marker goes to disk first, so a crash from here on is noticed.
func (n *Node) enterUnsyncedMode() error {
	if n.unsynced.Load() || !n.hasSnapshot() {
		return nil
	}
	if err := writeSynced(n.markerPath(), []byte("the data file commits without fsync; see node/durability.go\n")); err != nil {
		return fmt.Errorf("unsynced marker: %w", err)
	}
	if err := n.store.SetNoSync(true); err != nil {
		return err
	}
	n.unsynced.Store(true)
	return nil
}

// leaveUnsyncedMode syncs the data file and removes the marker; called
// after Raft has stopped applying. A node that never entered the mode in
// this process leaves a marker it found alone: the file is still suspect.
func (n *Node) leaveUnsyncedMode() error {
	if !n.unsynced.Load() {
		return nil
	}
	if err := n.store.Sync(); err != nil {
		return fmt.Errorf("sync data file: %w", err)
	}
	if err := os.Remove(n.markerPath()); err != nil {
		return fmt.Errorf("unsynced marker: %w", err)
	}
	return syncDir(n.cfg.DataDir)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
