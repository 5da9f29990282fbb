package node

import (
	"context"
	"sync"
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
