package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// readGate holds reads back until this node's store has applied everything
// committed before it started serving in its current role. A leader that
// just took over (or restarted) may still be replaying committed entries;
// a read served then would miss acknowledged writes. The gate opens once a
// Raft barrier (an entry applied after all earlier ones) has completed in
// this term, and closes again when leadership is lost.
type readGate struct {
	mu   sync.Mutex
	ch   chan struct{} // closed while open
	open bool
}

func newReadGate() *readGate { return &readGate{ch: make(chan struct{})} }

func (g *readGate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		g.open = true
		close(g.ch)
	}
}

func (g *readGate) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open {
		g.open = false
		g.ch = make(chan struct{})
	}
}

func (g *readGate) IsOpen() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// Wait blocks until the gate is open or ctx ends.
func (g *readGate) Wait(ctx context.Context) error {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stallWatch notices when this process went unscheduled for a while (a VM
// paused by its host, SIGSTOP, a starved CPU): a goroutine ticks every
// tick, and a tick that comes more than threshold after the previous one
// marks a stall. Leader reads ask it whether a stall may have happened
// around them (leaderReadIndex): after a stall, answers to heartbeats sent
// before it may still be waiting in the sockets, and hashicorp/raft's
// VerifyLeader counts an answer that arrives after the call even when the
// heartbeat was sent before it, so a deposed leader that wakes up can have
// its leadership "confirmed" by its followers' answers from before they
// elected another leader. Times are on the monotonic clock, since start.
type stallWatch struct {
	start           time.Time
	tick, threshold time.Duration
	last, stalledAt atomic.Int64 // the latest tick; when the latest stall was noticed (0: never)
	// barrierReads counts leader reads that committed a barrier because
	// of a stall (leaderReadIndex): what the read benchmark reports.
	barrierReads atomic.Int64
}

func newStallWatch(threshold time.Duration) *stallWatch {
	w := &stallWatch{start: time.Now(), tick: max(threshold/5, time.Millisecond), threshold: threshold}
	w.last.Store(int64(w.now()))
	return w
}

func (w *stallWatch) now() time.Duration { return time.Since(w.start) }

// run ticks until ctx ends.
func (w *stallWatch) run(ctx context.Context) {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := w.now()
		if now-time.Duration(w.last.Load()) > w.threshold {
			w.stalledAt.Store(int64(now))
		}
		w.last.Store(int64(now))
	}
}

// stalledSince reports whether the process may have stalled at or after
// since: a stall was noticed then, or the ticker has not run for longer
// than threshold (it is late now: the process may be waking up from one).
func (w *stallWatch) stalledSince(since time.Duration) bool {
	now := w.now()
	if now-time.Duration(w.last.Load()) > w.threshold {
		return true
	}
	at := w.stalledAt.Load()
	return at != 0 && time.Duration(at) >= since
}
