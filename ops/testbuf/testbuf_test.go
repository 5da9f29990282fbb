package testbuf_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"minitwit/ops/testbuf"
)

// Writers and a reader at once (run with -race): every write lands whole.
func TestBufferConcurrentWritesAndReads(t *testing.T) {
	var buf testbuf.Buffer
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				fmt.Fprintf(&buf, "w%d-%d\n", w, i)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			_ = buf.String()
		}
	})
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		var w, i int
		if n, err := fmt.Sscanf(l, "w%d-%d", &w, &i); n != 2 || err != nil {
			t.Fatalf("torn line %q", l)
		}
	}
}
