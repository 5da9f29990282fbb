package faultnet

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer echoes every line back until the client closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dialEcho(t *testing.T, fn *Net, from, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := fn.Dialer(from)(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// roundTrip sends a line and reads it back within d; ok is false on timeout.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, line string, d time.Duration) (string, bool) {
	t.Helper()
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", false
	}
	got, err := r.ReadString('\n')
	if err != nil {
		return "", false
	}
	return got[:len(got)-1], true
}

func TestCutStallsAndHealDelivers(t *testing.T) {
	fn := New()
	defer fn.Close()
	addr := echoServer(t)
	fn.Register("b", addr)
	c, r := dialEcho(t, fn, "a", addr)
	if got, ok := roundTrip(t, c, r, "one", 5*time.Second); !ok || got != "one" {
		t.Fatalf("healthy link: %q %v", got, ok)
	}

	// One way, either way: the echo does not come back.
	for _, cut := range [][2]string{{"a", "b"}, {"b", "a"}} {
		fn.Cut(cut[0], cut[1])
		if _, ok := roundTrip(t, c, r, "lost?", 200*time.Millisecond); ok {
			t.Fatalf("echo came back across a cut %s -> %s", cut[0], cut[1])
		}
		fn.HealAll()
		// What was stalled arrives after the heal, in order.
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got, err := r.ReadString('\n')
		c.SetDeadline(time.Time{})
		if err != nil || got != "lost?\n" {
			t.Fatalf("after healing %s -> %s: %q %v", cut[0], cut[1], got, err)
		}
	}
}

func TestDelayKeepsOrder(t *testing.T) {
	fn := New()
	defer fn.Close()
	addr := echoServer(t)
	fn.Register("b", addr)
	fn.SetDelay("a", "b", 30*time.Millisecond, 20*time.Millisecond)
	c, r := dialEcho(t, fn, "a", addr)
	started := time.Now()
	for i := range 20 {
		io.WriteString(c, string(rune('a'+i))+"\n")
	}
	for i := range 20 {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got, err := r.ReadString('\n')
		if err != nil || got != string(rune('a'+i))+"\n" {
			t.Fatalf("line %d: %q %v", i, got, err)
		}
	}
	if el := time.Since(started); el < 10*time.Millisecond {
		t.Fatalf("20 lines echoed in %v through a 30±20 ms delay", el)
	}
}

func TestDropClosesConnections(t *testing.T) {
	fn := New()
	defer fn.Close()
	addr := echoServer(t)
	fn.Register("b", addr)
	c, r := dialEcho(t, fn, "a", addr)
	fn.Drop("b", "a")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("read on a dropped connection succeeded")
	}
	// A new connection works.
	c2, r2 := dialEcho(t, fn, "a", addr)
	if got, ok := roundTrip(t, c2, r2, "again", 5*time.Second); !ok || got != "again" {
		t.Fatalf("new connection after a drop: %q %v", got, ok)
	}
}

func TestPartitionAndIsolate(t *testing.T) {
	fn := New()
	defer fn.Close()
	a, b := echoServer(t), echoServer(t)
	fn.Register("a", a)
	fn.Register("b", b)
	fn.Register("c", echoServer(t))
	fn.Isolate("c")
	cb, rb := dialEcho(t, fn, "c", b)
	if _, ok := roundTrip(t, cb, rb, "x", 200*time.Millisecond); ok {
		t.Fatal("isolated node reached b")
	}
	ca, ra := dialEcho(t, fn, "b", a)
	if got, ok := roundTrip(t, ca, ra, "y", 5*time.Second); !ok || got != "y" {
		t.Fatalf("b -> a with c isolated: %q %v", got, ok)
	}
}

// exchangeServer reads everything a connection sends, counting it, and
// sends size bytes back; it reports each connection's count once it
// reached size.
func exchangeServer(t *testing.T, size int) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	full := make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				go c.Write(make([]byte, size))
				if k, _ := io.CopyN(io.Discard, c, int64(size)); k == int64(size) {
					full <- struct{}{}
				}
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String(), full
}

// TestBandwidthPerLinkAndDirection: a rate on a -> b holds back what a
// sends to b, on all of a's connections to b together, and nothing else:
// not what b sends back, not what c sends to b.
func TestBandwidthPerLinkAndDirection(t *testing.T) {
	const rate, size = 128 << 10, 96 << 10 // two connections: 1.5 s at the rate
	fn := New()
	defer fn.Close()
	addr, full := exchangeServer(t, size)
	fn.Register("b", addr)
	fn.SetBandwidth("a", "b", rate)

	started := time.Now()
	downloaded := make(chan time.Duration, 2)
	for range 2 {
		c, _ := dialEcho(t, fn, "a", addr)
		go func() {
			if _, err := io.CopyN(io.Discard, c, size); err == nil {
				downloaded <- time.Since(started)
			}
		}()
		go c.Write(make([]byte, size))
	}
	other, _ := dialEcho(t, fn, "c", addr)
	if _, err := other.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	// Three connections send size bytes each; only c's may arrive whole
	// early: a's two share 128 KiB/s, so neither is through before 0.75 s
	// and both not before 1.5 s.
	var arrived []time.Duration
	for range 3 {
		select {
		case <-full:
			arrived = append(arrived, time.Since(started))
		case <-time.After(60 * time.Second):
			t.Fatalf("only %d of 3 connections arrived whole within a minute", len(arrived))
		}
	}
	if want := time.Duration(2 * size * int64(time.Second) / rate); arrived[2] < want*9/10 {
		t.Fatalf("a's %d bytes over two connections arrived in %v; at %d B/s that takes %v", 2*size, arrived[2], rate, want)
	}
	if arrived[1] < time.Duration(size*int64(time.Second)/rate)*9/10 {
		t.Fatalf("one of a's connections arrived whole after %v, before the rate allows", arrived[1])
	}
	// b -> a has no rate: both downloads finished, before a's uploads did.
	for range 2 {
		select {
		case d := <-downloaded:
			if d >= arrived[2] {
				t.Fatalf("b -> a has no rate but a download took %v, as long as the limited uploads (%v)", d, arrived[2])
			}
		case <-time.After(60 * time.Second):
			t.Fatal("a download from b did not finish")
		}
	}
}
