// Package faultnet is a network fault injector for in-process clusters:
// every connection one node opens to another goes through a fault point
// controlled per ordered pair of nodes (from, to), for the bytes that flow
// from one to the other. A link can be delayed (with jitter), limited in
// bandwidth, cut one way (asymmetric), cut both ways (partitions), and its
// open connections can be dropped. It owns nothing of the nodes: a node hands it its outgoing
// dials (node.Options.DialCluster) and the test tells it which listening
// address belongs to which node.
//
// Choices:
//   - A cut stalls bytes rather than discarding them, as a real partition
//     does to TCP: the sender's writes block once the queue is full (so
//     write deadlines and timeouts fire as they would), and what was
//     queued is delivered, in order, when the link heals, unless a side
//     gave up and closed the connection first. Bytes a node wrote before
//     closing are still delivered after a heal, as a kernel keeps
//     retransmitting them: a receiver can get a request its sender has
//     abandoned, which is exactly what a partition does to real clusters.
//   - A new connection across a cut link is opened (the TCP connect to the
//     loopback listener succeeds) and then stalls like an open one: the
//     TLS handshake waits for the heal or the dialer's deadline.
//   - Delays keep the byte order of a connection (TCP never reorders):
//     each chunk is due at its arrival time plus the delay plus a uniform
//     jitter, but never before the chunk ahead of it. Delays do not limit
//     throughput: the reader keeps reading while chunks wait.
//   - A bandwidth limit belongs to the link, shared by every connection on
//     it, as a real link is: each chunk occupies the link for its size
//     divided by the rate, one after the other (a token bucket without a
//     burst), and the delay counts from when its last byte is through.
//     The sender is held back only by the chunks queued per connection
//     (a few MiB, like a kernel's socket buffers), not by the rate. A
//     cut link sends nothing, and after the heal what waited goes out at
//     the rate, not at once. A changed rate applies to chunks not yet on
//     their way.
//   - No library: toxiproxy/v2 works as a Go library, but it needs one
//     listening proxy per ordered pair and its timeout toxic discards the
//     bytes of a cut link (corrupting a TLS stream on heal); a dial hook and
//     net.Pipe give per-pair control in a few hundred lines.
package faultnet

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"time"
)

// Net is the fault point of one test's cluster. The zero value is not
// usable; call New.
type Net struct {
	mu     sync.Mutex
	names  map[string]string // listening address -> node name
	links  map[pair]*link
	conns  map[*proxied]struct{}
	closed bool
}

type pair struct{ from, to string }

// link is what happens to bytes from one node to another. changed is
// closed (and replaced) whenever the state changes, to wake waiters.
type link struct {
	cut           bool
	delay, jitter time.Duration
	rate          int64     // bytes per second; 0: unlimited
	free          time.Time // when the bytes already sent are through (with a rate)
	changed       chan struct{}
}

// New returns a Net with every link healthy.
func New() *Net {
	return &Net{names: map[string]string{}, links: map[pair]*link{}, conns: map[*proxied]struct{}{}}
}

// Register says that the node called name listens on addr. A connection
// made to an address before it is registered gets its faults from the
// moment it is.
func (n *Net) Register(name, addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for a, nm := range n.names {
		if nm == name {
			delete(n.names, a) // the node came back at another address
		}
	}
	n.names[addr] = name
}

// Names returns the registered node names, sorted.
func (n *Net) Names() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, nm := range n.names {
		out = append(out, nm)
	}
	sort.Strings(out)
	return out
}

// linkLocked returns the link from -> to, creating a healthy one.
func (n *Net) linkLocked(from, to string) *link {
	p := pair{from, to}
	l := n.links[p]
	if l == nil {
		l = &link{changed: make(chan struct{})}
		n.links[p] = l
	}
	return l
}

// update changes the link from -> to and wakes its waiters.
func (n *Net) update(from, to string, f func(*link)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.linkLocked(from, to)
	f(l)
	close(l.changed)
	l.changed = make(chan struct{})
}

// Cut stops every byte from `from` to `to` (one way) until Heal.
func (n *Net) Cut(from, to string) { n.update(from, to, func(l *link) { l.cut = true }) }

// Heal lets bytes from `from` to `to` through again.
func (n *Net) Heal(from, to string) {
	n.update(from, to, func(l *link) {
		if l.cut {
			l.free = later(l.free, time.Now()) // the link sent nothing while cut
		}
		l.cut = false
	})
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Partition cuts, both ways, every pair of nodes in different groups.
// Nodes in no group keep their links.
func (n *Net) Partition(groups ...[]string) {
	for i, g := range groups {
		for j, h := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					n.Cut(a, b)
				}
			}
		}
	}
}

// Isolate cuts name off from every other registered node, both ways.
func (n *Net) Isolate(name string) {
	var rest []string
	for _, nm := range n.Names() {
		if nm != name {
			rest = append(rest, nm)
		}
	}
	n.Partition([]string{name}, rest)
}

// HealAll heals every cut; delays stay.
func (n *Net) HealAll() {
	n.mu.Lock()
	var cut []pair
	for p, l := range n.links {
		if l.cut {
			cut = append(cut, p)
		}
	}
	n.mu.Unlock()
	for _, p := range cut {
		n.Heal(p.from, p.to)
	}
}

// SetDelay delays bytes from `from` to `to` by d plus a uniform jitter in
// [-jitter, +jitter] (never below zero).
func (n *Net) SetDelay(from, to string, d, jitter time.Duration) {
	n.update(from, to, func(l *link) { l.delay, l.jitter = d, jitter })
}

// SetDelayAll sets the delay of every link between registered nodes.
func (n *Net) SetDelayAll(d, jitter time.Duration) {
	names := n.Names()
	for _, a := range names {
		for _, b := range names {
			if a != b {
				n.SetDelay(a, b, d, jitter)
			}
		}
	}
}

// SetBandwidth limits bytes from `from` to `to` to bytesPerSec (0 or
// less: unlimited).
func (n *Net) SetBandwidth(from, to string, bytesPerSec int64) {
	n.update(from, to, func(l *link) {
		if l.rate <= 0 {
			l.free = later(l.free, time.Now())
		}
		l.rate = max(bytesPerSec, 0)
	})
}

// SetBandwidthAll limits every link between registered nodes.
func (n *Net) SetBandwidthAll(bytesPerSec int64) {
	names := n.Names()
	for _, a := range names {
		for _, b := range names {
			if a != b {
				n.SetBandwidth(a, b, bytesPerSec)
			}
		}
	}
}

// transmit puts size bytes that arrived at `at` on the link of a
// connection and returns when they are through: at itself without a rate.
func (n *Net) transmit(from, addr string, back bool, at time.Time, size int) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	to, ok := n.names[addr]
	if !ok {
		return at
	}
	if back {
		from, to = to, from
	}
	l := n.linkLocked(from, to)
	if l.rate <= 0 || size == 0 {
		return at
	}
	l.free = later(l.free, at).Add(time.Duration(int64(size) * int64(time.Second) / l.rate))
	return l.free
}

// Drop closes every open connection between a and b (either way round),
// as a reset would; new connections may be made at once.
func (n *Net) Drop(a, b string) {
	n.mu.Lock()
	var victims []*proxied
	for c := range n.conns {
		from, to := c.from, n.names[c.addr]
		if (from == a && to == b) || (from == b && to == a) {
			victims = append(victims, c)
		}
	}
	n.mu.Unlock()
	for _, c := range victims {
		c.close()
	}
}

// Close drops every connection and refuses new ones.
func (n *Net) Close() {
	n.mu.Lock()
	n.closed = true
	var all []*proxied
	for c := range n.conns {
		all = append(all, c)
	}
	n.mu.Unlock()
	for _, c := range all {
		c.close()
	}
}

// state returns the link the bytes of a connection from `from` to addr
// (or back, when back is set) go through now: nil when addr belongs to no
// registered node.
func (n *Net) state(from, addr string, back bool) (cut bool, delay, jitter time.Duration, changed <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	to, ok := n.names[addr]
	if !ok {
		return false, 0, 0, nil
	}
	if back {
		from, to = to, from
	}
	l := n.linkLocked(from, to)
	return l.cut, l.delay, l.jitter, l.changed
}

// Dialer returns the dial function for node `from` (node.Options.DialCluster).
func (n *Net) Dialer(from string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.mu.Lock()
		closed := n.closed
		n.mu.Unlock()
		if closed {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("faultnet closed")}
		}
		var d net.Dialer
		up, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		local, remote := net.Pipe()
		c := &proxied{net: n, from: from, addr: addr, up: up, down: remote, done: make(chan struct{})}
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			up.Close()
			local.Close()
			remote.Close()
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("faultnet closed")}
		}
		n.conns[c] = struct{}{}
		n.mu.Unlock()
		c.wg.Add(2)
		go c.pump(remote, up, false) // from -> to
		go c.pump(up, remote, true)  // to -> from
		go func() {
			c.wg.Wait()
			c.close()
		}()
		return &pipeConn{Conn: local, remote: up.RemoteAddr()}, nil
	}
}

// pipeConn is the dialer's end: a net.Pipe (deadlines work) that reports
// the real peer address.
type pipeConn struct {
	net.Conn
	remote net.Addr
}

func (p *pipeConn) RemoteAddr() net.Addr { return p.remote }

// proxied is one connection through the fault point.
type proxied struct {
	net        *Net
	from, addr string
	up         net.Conn // to the real listener
	down       net.Conn // the proxy's end of the dialer's pipe
	wg         sync.WaitGroup
	once       sync.Once
	done       chan struct{}
}

func (c *proxied) close() {
	c.once.Do(func() {
		close(c.done)
		c.up.Close()
		c.down.Close()
		c.net.mu.Lock()
		delete(c.net.conns, c)
		c.net.mu.Unlock()
	})
}

type chunk struct {
	data []byte
	at   time.Time
	eof  bool
}

// pump carries one direction: a reader queues chunks as they arrive, the
// deliverer writes each when it is due and the link is not cut.
func (c *proxied) pump(src, dst net.Conn, back bool) {
	defer c.wg.Done()
	queue := make(chan chunk, 256)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			k, err := src.Read(buf)
			if k > 0 {
				// A copy of what was read: Raft's heartbeats are small and
				// many, and a fresh 32 KiB buffer for each fed the GC.
				select {
				case queue <- chunk{data: append([]byte(nil), buf[:k]...), at: time.Now()}:
				case <-c.done:
					return
				}
			}
			if err != nil {
				select {
				case queue <- chunk{eof: true, at: time.Now()}:
				case <-c.done:
				}
				return
			}
		}
	}()
	var due time.Time
	for {
		var ch chunk
		select {
		case ch = <-queue:
		case <-c.done:
			return
		}
		var through time.Time // when the chunk has passed the link's rate limit
		for {
			cut, delay, jitter, changed := c.net.state(c.from, c.addr, back)
			if cut {
				select {
				case <-changed:
					continue
				case <-c.done:
					return
				}
			}
			if through.IsZero() {
				through = c.net.transmit(c.from, c.addr, back, ch.at, len(ch.data))
			}
			d := delay
			if jitter > 0 {
				d += time.Duration(rand.Int64N(int64(2*jitter+1))) - jitter
			}
			at := through.Add(max(d, 0))
			if at.Before(due) {
				at = due
			}
			if wait := time.Until(at); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-changed:
					t.Stop()
					continue // cut meanwhile, or a new delay
				case <-c.done:
					t.Stop()
					return
				}
			}
			due = at
			break
		}
		if ch.eof {
			// The sender closed (or its side failed): pass the close on.
			// A pipe has no half-close, so the whole connection ends once
			// the other direction has nothing more to say either.
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			} else {
				dst.Close()
			}
			return
		}
		if _, err := dst.Write(ch.data); err != nil {
			c.close()
			return
		}
	}
}
