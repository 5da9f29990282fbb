package testwait_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"minitwit/ops/testwait"
)

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	err := testwait.Poll(context.Background(), time.Minute, func() error {
		if calls.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls.Load() != 3 {
		t.Fatalf("Poll: %v after %d calls, want nil after 3", err, calls.Load())
	}
}

func TestPollNamesTheLastErrorAtTheDeadline(t *testing.T) {
	t.Parallel()
	n := 0
	err := testwait.Poll(context.Background(), 20*time.Millisecond, func() error {
		n++
		return errors.New("attempt " + strings.Repeat("x", n))
	})
	if err == nil || !strings.Contains(err.Error(), "not within 20ms") || !strings.HasSuffix(err.Error(), "attempt "+strings.Repeat("x", n)+")") {
		t.Fatalf("Poll: %v, want the deadline and the last of %d errors", err, n)
	}
}

func TestPollStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := testwait.Poll(ctx, time.Hour, func() error { return errors.New("never") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll with an ended context: %v", err)
	}
}

// recorder is a testing.TB that records a failure instead of ending the
// test, so the failure message itself can be checked.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

func TestUntilNamesWhatItAwaited(t *testing.T) {
	t.Parallel()
	r := &recorder{TB: t}
	testwait.Within(10*time.Millisecond).Until(r, "the moon", func() bool { return false })
	if !strings.Contains(r.msg, "the moon") || !strings.Contains(r.msg, "not within 10ms") {
		t.Fatalf("failure message %q lacks what was awaited or the deadline", r.msg)
	}
	r = &recorder{TB: t}
	testwait.Until(r, "the sun", func() bool { return true })
	if r.msg != "" {
		t.Fatalf("a condition that holds failed: %q", r.msg)
	}
}
