//go:build e2e

package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"minitwit/ops/testwait"
)

// TestTornMetaPagesAreRebuiltAfterKill9: kill -9 during writes, then both
// bbolt meta pages of the data file zeroed (a power loss in the no-fsync
// mode can leave that): the node does not refuse to start ("invalid
// database") but moves the file aside, rebuilds it from the snapshot and
// the log, and serves every acknowledged write.
func TestTornMetaPagesAreRebuiltAfterKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	users := registerUsers(t, s.base, 4)
	marker := filepath.Join(dir, "data-file-unsynced")
	testwait.UntilNil(t, "the node to enter unsynced mode", func() error {
		_, err := os.Stat(marker)
		return err
	})
	// The kill lands while the writers are busy.
	acked, _ := signalDuringWrites(t, s, users, 100, syscall.SIGKILL)

	path := filepath.Join(dir, "minitwit.db")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var hdr [28]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(hdr[24:])) // page header (16 bytes), magic, version, page size
	if pageSize < 512 || pageSize > 1<<16 {
		t.Fatalf("implausible bbolt page size %d", pageSize)
	}
	if _, err := f.WriteAt(make([]byte, 2*pageSize), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s2 := startServer(t, dir)
	if n := checkAcked(t, s2.base, acked); n < 50 {
		t.Fatalf("only %d writes acknowledged; the test proves little", n)
	}
	if aside, _ := filepath.Glob(path + ".torn-*"); len(aside) != 1 {
		t.Fatalf("the unusable data file was not kept aside: %v\n%s", aside, s2.logs)
	}
}
