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
