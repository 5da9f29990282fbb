package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"minitwit/store/fsutil"
)

// Raft's FileSnapshotStore keeps snapshots in a "snapshots" folder under
// the directory it is given. Earlier versions gave it raft/snapshots, so
// the snapshots lived in raft/snapshots/snapshots; now it gets raft/ and
// they live in raft/snapshots. migrateSnapshotDir moves an earlier data
// dir's folder up one level before Raft opens it, so a node upgraded in
// place keeps its snapshots. Going back to an older binary needs the move
// undone by hand (CHANGELOG.md says how).
//
// The move is two renames, each of which a crash leaves either done or
// not: raft/snapshots becomes raft/snapshots.migrating, then its
// "snapshots" child becomes raft/snapshots. A start that finds
// raft/snapshots.migrating finishes the second step.
func migrateSnapshotDir(raftDir string) (migrated bool, err error) {
	cur := filepath.Join(raftDir, snapshotsDir)
	tmp := filepath.Join(raftDir, snapshotsDir+".migrating")
	if fi, err := os.Stat(filepath.Join(cur, snapshotsDir)); err == nil && fi.IsDir() {
		if _, err := os.Stat(tmp); err == nil {
			return false, fmt.Errorf("both %s and %s exist: move the snapshots in one of them to %s by hand", filepath.Join(cur, snapshotsDir), tmp, cur)
		}
		if err := os.Rename(cur, tmp); err != nil {
			return false, fmt.Errorf("moving the snapshots folder: %w", err)
		}
		if err := fsutil.SyncDir(raftDir); err != nil {
			return false, err
		}
	}
	if _, err := os.Stat(tmp); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	// An empty raft/snapshots (made by a start that crashed in between)
	// goes; os.Remove refuses a non-empty one, and then the rename fails.
	if _, err := os.Stat(filepath.Join(tmp, snapshotsDir)); err == nil {
		os.Remove(cur)
	}
	if err := os.Rename(filepath.Join(tmp, snapshotsDir), cur); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("moving the snapshots folder: %w", err)
	}
	if err := fsutil.SyncDir(raftDir); err != nil {
		return false, err
	}
	if err := os.Remove(tmp); err != nil {
		return true, fmt.Errorf("the snapshots moved to %s, but %s stays: %w", cur, tmp, err)
	}
	return true, fsutil.SyncDir(raftDir)
}
