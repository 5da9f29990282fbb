package node

import (
	"context"
	"fmt"

	"github.com/hashicorp/raft"
)

// await returns a Raft future's error, giving up when ctx ends or once Raft
// has shut down. hashicorp/raft does not answer futures that were still
// queued when it stopped (a barrier or an apply in its buffered apply
// channel, entries handed to the FSM goroutine; hashicorp/raft#498), so a
// bare f.Error() can wait forever after a shutdown: the leadership watcher
// did, and a crash in the linearizability test hung on it. Every wait on a
// future in this package goes through here, so no goroutine of the node
// outlives Raft waiting.
//
// The outcome of a future given up on is unknown: a command may still have
// been committed. Callers treat the error like any other Raft failure,
// never as a success. The goroutine that waits for the future ends when it
// is answered, or stays parked if it never is; it holds nothing.
func (n *Node) await(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done:
			return err
		default:
			return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
	case <-n.raftDown:
		select {
		case err := <-done:
			return err
		default:
			return raft.ErrRaftShutdown
		}
	}
}
