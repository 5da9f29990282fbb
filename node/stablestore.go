package node

import (
	"sync"

	"github.com/hashicorp/raft"
)

// guardedStable is the Raft stable store (current term, vote) that outlives
// Raft's shutdown safely. hashicorp/raft answers heartbeats on the
// transport's goroutines and checks for shutdown only before it starts, so
// a heartbeat that raced a shutdown can still write the term after the
// node closed its log store, and Raft panics on that failed write. Once
// Raft is down nothing it writes matters (a crash would lose it too), so
// after close writes are dropped; the lock orders each write against the
// close, so none reaches a closed database.
type guardedStable struct {
	raft.StableStore
	mu     sync.RWMutex
	closed bool
}

func (g *guardedStable) Set(key, val []byte) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil
	}
	return g.StableStore.Set(key, val)
}

func (g *guardedStable) SetUint64(key []byte, val uint64) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil
	}
	return g.StableStore.SetUint64(key, val)
}

// close stops writes; call it after Raft's shutdown, before the store
// underneath is closed.
func (g *guardedStable) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
