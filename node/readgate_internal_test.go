package node

import (
	"testing"
	"time"
)

// TestStallWatch: a late ticker or a stall noticed at or after the time
// asked about count as a possible stall; an old stall and a punctual
// ticker do not.
func TestStallWatch(t *testing.T) {
	w := newStallWatch(50 * time.Millisecond)
	now := w.now()
	w.last.Store(int64(now))
	if w.stalledSince(now - time.Second) {
		t.Fatal("a fresh watch reports a stall")
	}
	// The ticker has not run for a second: the process may just be waking.
	w.last.Store(int64(now - time.Second))
	if !w.stalledSince(now) {
		t.Fatal("a ticker a second late is not a possible stall")
	}
	// A stall noticed at now counts for reads from before it, not after.
	w.last.Store(int64(w.now()))
	w.stalledAt.Store(int64(now))
	if !w.stalledSince(now - time.Millisecond) {
		t.Fatal("a stall noticed after the read arrived is not reported")
	}
	if w.stalledSince(now + time.Millisecond) {
		t.Fatal("a stall noticed before the time asked about is reported")
	}
}
