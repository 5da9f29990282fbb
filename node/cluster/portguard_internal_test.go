package cluster

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestPortGuardDropsTheOldestIdleConnection: when the list of
// unauthenticated connections is full, a newcomer gets in and the oldest
// is closed.
func TestPortGuardDropsTheOldestIdleConnection(t *testing.T) {
	g := newPortGuard(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	var peers []net.Conn
	for range maxUnauthenticated {
		c, p := net.Pipe()
		defer p.Close()
		g.admit(c)
		peers = append(peers, p)
	}
	c, p := net.Pipe()
	defer p.Close()
	release := g.admit(c)
	peers[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := peers[0].Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the oldest connection was not closed: read err = %v", err)
	}
	peers[1].SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := peers[1].Read(make([]byte, 1)); err == io.EOF {
		t.Fatal("the second oldest connection was closed too")
	}
	if len(g.pending) != maxUnauthenticated || g.refused[refusedIdle] != 1 {
		t.Fatalf("pending %d, dropped %d", len(g.pending), g.refused[refusedIdle])
	}
	release()
	release() // idempotent
	if len(g.pending) != maxUnauthenticated-1 {
		t.Fatalf("pending %d after release", len(g.pending))
	}
}

// TestPortGuardBackoffDoublesAndIsCapped: every wrong token doubles the
// wait of its source, up to the cap; a proven token clears it; other
// sources are not affected.
func TestPortGuardBackoffDoublesAndIsCapped(t *testing.T) {
	g := newPortGuard(slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	a := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4000}
	aOtherPort := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4001}
	b := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 4000}
	if g.backedOff(a) != 0 {
		t.Fatal("a fresh source is backed off")
	}
	prev := time.Duration(0)
	for i := range 20 {
		g.wrongToken(a)
		wait := g.backedOff(aOtherPort)
		if wait > maxWrongTokenBackoff || wait <= 0 {
			t.Fatalf("after %d wrong tokens: wait %s", i+1, wait)
		}
		if i < 5 && wait <= prev {
			t.Fatalf("after %d wrong tokens the wait %s did not grow from %s", i+1, wait, prev)
		}
		prev = wait
	}
	if prev < maxWrongTokenBackoff-time.Second {
		t.Fatalf("the wait stopped at %s, want the cap %s", prev, maxWrongTokenBackoff)
	}
	if g.backedOff(b) != 0 {
		t.Fatal("another source is backed off")
	}
	g.tokenProven(a)
	if g.backedOff(a) != 0 {
		t.Fatal("a proven token did not clear the backoff")
	}
}
