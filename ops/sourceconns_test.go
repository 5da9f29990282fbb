package ops_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"minitwit/ops"
	"minitwit/ops/testwait"
)

// TestLimitPerSource: one source holds at most its cap of open
// connections (the ones past it are closed at once), a connection that
// closes gives its place back, and an exempt source (a trusted proxy) is
// not counted.
func TestLimitPerSource(t *testing.T) {
	t.Parallel()
	serve := func(exempt []netip.Prefix) (addr string, accepted func() []net.Conn) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		l := ops.LimitPerSource(ln, 3, exempt)
		var mu sync.Mutex
		var conns []net.Conn
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
		return ln.Addr().String(), func() []net.Conn {
			mu.Lock()
			defer mu.Unlock()
			return append([]net.Conn(nil), conns...)
		}
	}
	// dial opens n client connections and counts those the server closes.
	dial := func(addr string, n int, closed *atomic.Int32) []net.Conn {
		var out []net.Conn
		for range n {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			out = append(out, c)
			go func() {
				if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) {
					closed.Add(1)
				}
			}()
		}
		return out
	}

	addr, accepted := serve(nil)
	var closed atomic.Int32
	dial(addr, 5, &closed)
	testwait.Until(t, "the 2 connections past the cap of 3 to be closed", func() bool { return closed.Load() == 2 })
	testwait.Until(t, "3 connections to be handed to the server", func() bool { return len(accepted()) == 3 })
	// One closes on the server's side: its place is free again.
	accepted()[0].Close()
	testwait.Until(t, "the closed connection's client to see it", func() bool { return closed.Load() == 3 })
	dial(addr, 1, &closed)
	testwait.Until(t, "a new connection to be handed over in the freed place", func() bool { return len(accepted()) == 4 })
	if closed.Load() != 3 {
		t.Fatalf("%d connections closed, want 3", closed.Load())
	}

	// An exempt source is not counted.
	addr, accepted = serve([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	var closedExempt atomic.Int32
	dial(addr, 5, &closedExempt)
	testwait.Until(t, "all 5 connections of an exempt source to be handed over", func() bool { return len(accepted()) == 5 })
	if n := closedExempt.Load(); n != 0 {
		t.Fatalf("%d connections of an exempt source were closed", n)
	}
}
