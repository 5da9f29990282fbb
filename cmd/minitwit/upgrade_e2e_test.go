//go:build e2e

package main

import (
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"minitwit/store"
)

// TestNewerDataDirIsRefused: a data dir written by a newer MiniTwit (its
// schema version above this binary's) stops serve at start with one clear
// line, and the file is left as it was.
func TestNewerDataDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "minitwit.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	newer := make([]byte, 8)
	binary.BigEndian.PutUint64(newer, store.SchemaVersion+1)
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), newer) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	cmd := exec.Command(binPath, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve started on a data dir from a newer version")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "newer version of minitwit") || !strings.HasPrefix(last, "minitwit serve:") {
		t.Fatalf("serve's last line: %q (all output:\n%s)", last, out)
	}
	for _, l := range lines[:len(lines)-1] {
		if strings.Contains(l, "panic") || strings.Contains(l, "goroutine ") {
			t.Fatalf("serve crashed instead of refusing:\n%s", out)
		}
	}
	db, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("meta")).Get([]byte("schema_version")); binary.BigEndian.Uint64(v) != store.SchemaVersion+1 {
			t.Error("the newer data file was changed")
		}
		return nil
	})
}
