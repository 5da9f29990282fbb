package node_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"minitwit/node/nodetest"
)

// TestSnapshotModes: snapshots (they hold the CA and session keys) are
// readable by the node's user only: folders 0700, files 0600.
func TestSnapshotModes(t *testing.T) {
	t.Parallel()
	n, _ := nodetest.StartDefault(t, web)
	if err := n.SnapshotForTest(); err != nil {
		t.Fatal(err)
	}
	seen := 0
	filepath.WalkDir(filepath.Join(n.DataDir(), "raft"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || strings.Contains(path, ".tmp") {
			// Gone meanwhile, or a snapshot still being written by a
			// background snapshot (its modes are set once it is complete).
			return nil
		}
		info, _ := d.Info()
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, info.Mode().Perm(), want)
		}
		if filepath.Base(path) == "state.bin" {
			seen++
		}
		return nil
	})
	if seen == 0 {
		t.Error("no snapshot on disk")
	}
}
