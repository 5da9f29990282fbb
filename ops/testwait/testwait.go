// Package testwait is the one way tests wait: poll a condition until it
// holds or a generous deadline passes, then fail naming what was awaited
// and the condition's last answer. Tests never sleep for a condition.
//
// Choices:
//   - The deadline is long (Timeout, 30 s). A condition that holds ends the
//     wait at once, so a long deadline costs nothing on a passing run; a
//     short one turns a loaded machine (2 cores, -race, another test run
//     beside it) into a failure.
//   - Polling backs off from 2 ms to 50 ms: a condition that holds soon is
//     seen soon, and one that takes seconds does not spin a busy CPU.
//   - cond runs on the caller's goroutine, so it may call t.Fatal; Poll is
//     for goroutines other than the test's and for helpers that return an
//     error instead of failing.
//
// It lives in ops, the room with no MiniTwit imports, and imports only the
// standard library, so every package's tests may use it without a cycle.
package testwait

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Timeout is how long Until and UntilNil wait.
const Timeout = 30 * time.Second

const (
	firstInterval = 2 * time.Millisecond
	maxInterval   = 50 * time.Millisecond
)

// Waiter waits up to its Timeout.
type Waiter struct {
	Timeout time.Duration
}

// Within returns a Waiter with timeout d, for the rare wait whose
// condition takes longer than Timeout on a busy machine (an ACME order).
func Within(d time.Duration) Waiter { return Waiter{Timeout: d} }

// Until polls cond until it returns true; after Timeout it fails t with
// "waiting for <what>".
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Waiter{Timeout}.Until(t, what, cond)
}

// UntilNil polls cond until it returns nil; after Timeout it fails t with
// "waiting for <what>" and cond's last error.
func UntilNil(t testing.TB, what string, cond func() error) {
	t.Helper()
	Waiter{Timeout}.UntilNil(t, what, cond)
}

// Until is the package's Until with w's timeout.
func (w Waiter) Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	w.UntilNil(t, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

var errNotYet = fmt.Errorf("the condition does not hold")

// UntilNil is the package's UntilNil with w's timeout.
func (w Waiter) UntilNil(t testing.TB, what string, cond func() error) {
	t.Helper()
	// Not t.Context(): it ends before cleanups run, which may wait too.
	if err := Poll(context.Background(), w.Timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Poll calls cond until it returns nil (Poll then returns nil), ctx ends
// or within has passed; then it returns an error that names cond's last
// error.
func Poll(ctx context.Context, within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	interval := firstInterval
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		}
		if !time.Now().Before(deadline) {
			if err == errNotYet {
				return fmt.Errorf("not within %s", within)
			}
			return fmt.Errorf("not within %s (last: %v)", within, err)
		}
		timer := time.NewTimer(min(interval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
		interval = min(2*interval, maxInterval)
	}
}
