package ops

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"minitwit/ops/testwait"
)

func TestLogRingKeepsTheNewestLines(t *testing.T) {
	t.Parallel()
	r := NewLogRing(3, 1<<20)
	r.Write([]byte("one\ntwo\nthr"))
	if got := r.Lines(0); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("lines %q (a partial line must wait for its end)", got)
	}
	r.Write([]byte("ee\nfour\nfive\n"))
	if got := r.Lines(0); !slices.Equal(got, []string{"three", "four", "five"}) {
		t.Fatalf("lines %q, want the newest three", got)
	}
	if got := r.Lines(2); !slices.Equal(got, []string{"four", "five"}) {
		t.Fatalf("last two %q", got)
	}
}

func TestLogRingIsBoundedByBytes(t *testing.T) {
	t.Parallel()
	r := NewLogRing(1000, 10)
	r.Write([]byte("aaaa\nbbbb\ncccc\n"))
	if got := r.Lines(0); !slices.Equal(got, []string{"bbbb", "cccc"}) {
		t.Fatalf("lines %q, want what fits in 10 bytes", got)
	}
	r.Write([]byte(strings.Repeat("x", 50) + "\n"))
	if got := r.Lines(0); len(got) != 1 || len(got[0]) != 10 {
		t.Fatalf("an oversized line: %q", got)
	}
}

func TestLogRingSubscribers(t *testing.T) {
	t.Parallel()
	r := NewLogRing(100, 1<<20)
	ch, cancel := r.Subscribe(2)
	r.Write([]byte("a\nb\nc\n"))
	if got := []string{<-ch, <-ch}; !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("got %q", got)
	}
	if r.Dropped() != 1 {
		t.Errorf("dropped %d, want 1 (the buffer held two)", r.Dropped())
	}
	cancel()
	r.Write([]byte("d\n"))
	select {
	case l := <-ch:
		t.Fatalf("a cancelled subscription got %q", l)
	default:
	}
}

// TestRotationCapsTheLogFiles: the rotating log file (lumberjack, as the
// node configures it from log.max_size_mb and log.max_files) never holds
// more than (max_files + 1) × max_size on disk, however much is logged.
func TestRotationCapsTheLogFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := NewRotatingFile(filepath.Join(dir, "minitwit.log"), 1, 2)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range 5 * 1024 { // 5 MiB
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var total int64
	var files []string
	// lumberjack deletes old backups in the background after a rotation.
	testwait.Until(t, "old log files to be deleted", func() bool {
		entries, _ := os.ReadDir(dir)
		total, files = 0, nil
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				return false // deleted between the listing and now
			}
			total += info.Size()
			files = append(files, fmt.Sprintf("%s:%d", e.Name(), info.Size()))
		}
		return len(entries) <= 3
	})
	if len(files) > 3 || total > 3<<20 {
		t.Fatalf("%d files, %d bytes: %v; want at most 3 files of 1 MiB", len(files), total, files)
	}
}
