package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"minitwit/store"
	"minitwit/store/fsutil"
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
// new, synced file, and Raft replays the log after it. The marker is looked
// at before the file is opened, so a file too torn to open is moved aside
// rather than stopping the start; a snapshot that fails its checksum gives
// way to the previous one.
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

// openDataFile opens the data file, looking at the marker first. A file
// the last stop left unsynced is not trusted anyway (startRaft rebuilds
// it), so one that cannot even be opened (both bbolt meta pages torn by a
// power loss: "invalid database") loses nothing: it is moved aside, kept
// under a timestamped name for inspection, and a new empty file takes its
// place. A file locked by another process or not readable for lack of
// permission is never moved: those are the operator's to fix.
func (n *Node) openDataFile() (*store.Store, error) {
	path := filepath.Join(n.cfg.DataDir, storeFile)
	if !n.fileUnsynced() {
		return store.Open(path, store.Options{})
	}
	st, err := openSurvivingPanics(path)
	if err == nil || errors.Is(err, store.ErrInUse) || errors.Is(err, fs.ErrPermission) {
		return st, err
	}
	aside := fmt.Sprintf("%s.torn-%s", path, time.Now().UTC().Format("20060102T150405.000Z"))
	if rerr := os.Rename(path, aside); rerr != nil {
		return nil, fmt.Errorf("%w (moving the unusable file aside failed too: %w)", err, rerr)
	}
	if err := fsutil.SyncDir(n.cfg.DataDir); err != nil {
		return nil, err
	}
	n.log.Warn("the data file cannot be opened after an unclean stop; moved it aside and rebuilding it from the newest snapshot and the Raft log",
		"err", err.Error(), "moved_to", aside)
	return store.Open(path, store.Options{})
}

// openSurvivingPanics opens a data file that may be torn. bbolt panics on
// some torn pages (a garbled freelist) instead of returning an error; such
// a file is as unusable as one it refuses. The descriptor a panic leaks is
// closed when the process ends.
func openSurvivingPanics(path string) (st *store.Store, err error) {
	defer func() {
		if r := recover(); r != nil {
			st, err = nil, fmt.Errorf("open %s: %v", path, r)
		}
	}()
	return store.Open(path, store.Options{})
}

// badSnapshotsDir keeps snapshots that failed their checksum or could not
// be restored, out of Raft's sight.
const badSnapshotsDir = "snapshots-bad"

// rebuildFromSnapshot restores the newest snapshot into a new data file
// (Raft then replays the log after it). It runs at start when the last stop
// left the file unsynced, or when the file is empty (it was lost). A
// snapshot that fails its checksum (or its restore) is moved aside and the
// previous one is used, provided the Raft log still reaches back to it:
// Raft, told not to restore at start, resumes applying after the newest
// snapshot it lists, so the bad one must leave the list.
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
	for i, s := range list {
		if i > 0 {
			first, ferr := n.logStore.FirstIndex()
			if ferr != nil || first == 0 || first > s.Index+1 {
				return fmt.Errorf("%s: the newer snapshots are unusable (kept in %s) and the Raft log no longer reaches back to snapshot %s (index %d); restore from a backup",
					reason, filepath.Join(n.cfg.DataDir, raftDir, badSnapshotsDir), s.ID, s.Index)
			}
		}
		meta, rc, err := n.snaps.Open(s.ID)
		if err == nil {
			n.log.Warn(reason+"; rebuilding the data file from a snapshot and the Raft log after it",
				"snapshot", meta.ID, "index", meta.Index, "newest", i == 0)
			if err = n.fsm.Restore(rc); err == nil {
				return nil
			}
		}
		if merr := n.moveSnapshotAside(s.ID); merr != nil {
			return fmt.Errorf("%s: snapshot %s is unusable (%w) and could not be moved aside: %w", reason, s.ID, err, merr)
		}
		n.log.Error("a snapshot is unusable; moved it aside and falling back to the previous one",
			"snapshot", s.ID, "index", s.Index, "err", err.Error())
	}
	return fmt.Errorf("%s: no usable Raft snapshot (the unusable ones are in %s); restore from a backup",
		reason, filepath.Join(n.cfg.DataDir, raftDir, badSnapshotsDir))
}

// moveSnapshotAside moves snapshot id out of the snapshot store, keeping it.
func (n *Node) moveSnapshotAside(id string) error {
	bad := filepath.Join(n.cfg.DataDir, raftDir, badSnapshotsDir)
	if err := os.MkdirAll(bad, 0o700); err != nil {
		return err
	}
	// raft.FileSnapshotStore keeps its snapshots in a "snapshots" folder
	// inside the folder it is given (raft/, snapshotdir.go).
	store := filepath.Join(n.cfg.DataDir, raftDir, snapshotsDir)
	if err := os.Rename(filepath.Join(store, id), filepath.Join(bad, id)); err != nil {
		return err
	}
	return fsutil.SyncDir(store)
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
	if err := fsutil.WriteFile(n.markerPath(), []byte("the data file commits without fsync; see node/durability.go\n")); err != nil {
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
	return fsutil.SyncDir(n.cfg.DataDir)
}
