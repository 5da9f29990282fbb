//go:build e2e

package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"minitwit/ops/backup"
)

// TestRestoreRefusesGzipBomb: `minitwit restore` of a backup whose header
// says 4 KiB but whose data expands to 16 MiB fails with one clear line
// and leaves no data dir behind.
func TestRestoreRefusesGzipBomb(t *testing.T) {
	t.Parallel()
	var file bytes.Buffer
	hdr, _ := json.Marshal(backup.Header{Index: 1, Node: "node1", Size: 4096})
	file.WriteString("MTWTBKUP")
	binary.Write(&file, binary.BigEndian, uint32(backup.FormatVersion))
	binary.Write(&file, binary.BigEndian, uint32(len(hdr)))
	file.Write(hdr)
	zw, _ := gzip.NewWriterLevel(&file, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 16 {
		zw.Write(zeros)
	}
	zw.Close()
	sum := sha256.Sum256(file.Bytes())
	file.WriteString("MTWTSUM1")
	file.Write(sum[:])
	path := filepath.Join(t.TempDir(), "bomb.mtb")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	code, out := runTool("restore", "--data-dir", dir, path)
	if code != 1 || !strings.Contains(out, "expands beyond the 4096 bytes") {
		t.Fatalf("restore of a gzip bomb: %d %s", code, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(dir)
		t.Fatalf("the refused restore left %s behind (%v, %d entries)", dir, err, len(entries))
	}
}
