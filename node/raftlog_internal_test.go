package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

// TestRaftRoutineLinesLevels: Raft's routine lines come out below WARN,
// the same lines in a real problem keep their level.
func TestRaftRoutineLinesLevels(t *testing.T) {
	var buf bytes.Buffer
	l := raftLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Warn("heartbeat timeout reached, starting election", "last-leader-addr", "", "last-leader-id", "")
	l.Warn("heartbeat timeout reached, starting election", "last-leader-addr", "127.0.0.1:9", "last-leader-id", "n2")
	l.Error("failed to take snapshot", "error", raft.ErrNothingNewToSnapshot)
	l.Error("failed to take snapshot", "error", fmt.Errorf("wrapped: %w", raft.ErrNothingNewToSnapshot))
	l.Error("failed to take snapshot", "error", errors.New("disk full"))
	var got []string
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(m["level"]))
	}
	want := []string{"INFO", "WARN", "DEBUG", "DEBUG", "ERROR"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("levels %v, want %v", got, want)
	}
}

// TestMigrateSnapshotDir: an earlier data dir's raft/snapshots/snapshots
// moves to raft/snapshots with its contents, a start that crashed between
// the two renames finishes the move, and the current layout is left alone.
func TestMigrateSnapshotDir(t *testing.T) {
	write := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("snap"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }
	check := func(t *testing.T, dir string, wantMoved bool) {
		t.Helper()
		moved, err := migrateSnapshotDir(dir)
		if err != nil || moved != wantMoved {
			t.Fatalf("migrate: moved %t, %v; want moved %t", moved, err, wantMoved)
		}
		if !exists(filepath.Join(dir, "snapshots", "2-10-1", "state.bin")) {
			t.Error("the snapshot is not in raft/snapshots")
		}
		if exists(filepath.Join(dir, "snapshots", "snapshots")) || exists(filepath.Join(dir, "snapshots.migrating")) {
			t.Error("the old folders are still there")
		}
	}
	t.Run("old layout", func(t *testing.T) {
		dir := t.TempDir()
		write(filepath.Join(dir, "snapshots", "snapshots", "2-10-1", "state.bin"))
		check(t, dir, true)
		check(t, dir, false) // and again: nothing to do
	})
	t.Run("crashed after the first rename, empty raft/snapshots made since", func(t *testing.T) {
		dir := t.TempDir()
		write(filepath.Join(dir, "snapshots.migrating", "snapshots", "2-10-1", "state.bin"))
		if err := os.Mkdir(filepath.Join(dir, "snapshots"), 0o700); err != nil {
			t.Fatal(err)
		}
		check(t, dir, true)
	})
	t.Run("crashed after the second rename", func(t *testing.T) {
		dir := t.TempDir()
		write(filepath.Join(dir, "snapshots", "2-10-1", "state.bin"))
		if err := os.Mkdir(filepath.Join(dir, "snapshots.migrating"), 0o700); err != nil {
			t.Fatal(err)
		}
		check(t, dir, true)
	})
	t.Run("current layout", func(t *testing.T) {
		dir := t.TempDir()
		write(filepath.Join(dir, "snapshots", "2-10-1", "state.bin"))
		check(t, dir, false)
	})
}
