//go:build e2e

package main

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"minitwit/ops/testwait"
)

// TestSIGTERMUnderLoadExitsWithinBound stops `minitwit serve` with SIGTERM
// while 16 clients write, again and again: every stop exits 0 within 10 s.
func TestSIGTERMUnderLoadExitsWithinBound(t *testing.T) {
	t.Parallel()
	runs := 20
	if testing.Short() {
		runs = 2
	}
	for run := range runs {
		s := startServer(t, t.TempDir())
		users := registerUsers(t, s.base, 16)
		var acked atomic.Int64
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Go(func() {
				for i := 0; ; i++ {
					status, err := post(s.base, "/msgs/"+url.PathEscape(u), map[string]string{"content": fmt.Sprint(i)})
					if err != nil {
						return // the server is gone
					}
					if status == http.StatusNoContent {
						acked.Add(1)
					}
				}
			})
		}
		testwait.Until(t, fmt.Sprintf("run %d: 100 acknowledged writes", run), func() bool { return acked.Load() >= 100 })
		started := time.Now()
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.done:
			if err != nil {
				t.Fatalf("run %d: serve exited with %v after SIGTERM under load; want status 0\n%s", run, err, s.logs)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: serve did not exit within 10 s of SIGTERM under load\n%s", run, s.logs)
		}
		t.Logf("run %d: exited %s after SIGTERM, %d writes acknowledged", run, time.Since(started).Round(time.Millisecond), acked.Load())
		wg.Wait()
	}
}
