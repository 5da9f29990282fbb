// Package testbuf is the buffer tests hand to something that writes from
// its own goroutines (a node's logger, a process's stdout, a simulator
// run's workers) and read while it still writes.
//
// Like ops/testwait it lives in ops, the room with no MiniTwit imports,
// and imports only the standard library, so every package's tests may use
// it without a cycle.
package testbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer whose Write and String may be called from
// several goroutines at once. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
