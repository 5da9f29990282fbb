package ops_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"minitwit/ops"
	"minitwit/ops/testwait"
)

type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) snapshot() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.writes
}

func TestLogWriterBatchesAndFlushesOnClose(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	w := ops.NewLogWriter(&out, time.Hour) // only size and Close flush here
	for i := 0; i < 100; i++ {
		w.Write([]byte("line\n"))
	}
	if s, _ := out.snapshot(); s != "" {
		t.Fatal("lines were written before a flush")
	}
	w.Close()
	s, writes := out.snapshot()
	if strings.Count(s, "line\n") != 100 || writes != 1 {
		t.Fatalf("after Close: %d lines in %d writes; want 100 in 1", strings.Count(s, "line\n"), writes)
	}
}

func TestLogWriterFlushesWhenFullAndOnTick(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	w := ops.NewLogWriter(&out, 10*time.Millisecond)
	defer w.Close()
	big := bytes.Repeat([]byte("x"), 70<<10)
	w.Write(big)
	if s, _ := out.snapshot(); len(s) != len(big) {
		t.Fatal("a write past the buffer limit must flush at once")
	}
	w.Write([]byte("tail\n"))
	testwait.Until(t, "the ticker to flush the tail", func() bool {
		s, _ := out.snapshot()
		return strings.HasSuffix(s, "tail\n")
	})
}
