package ops

import (
	"net"
	"net/netip"
	"slices"
	"sync"
)

// LimitPerSource wraps the public listener so that one source address
// (IPv6 by /64) holds at most perSource open connections: past that, a new
// connection from it is closed as soon as it is accepted, before it costs a
// goroutine or a slot of http.max_connections. Without it one client that
// kept 1,000 half-open connections (re-opened every 10 s, the header
// timeout) took every slot, and everyone else waited up to 10 s (attack
// review 2026-12-04). Connections from exempt prefixes (the trusted
// proxies, which carry many clients) are not counted.
//
// Wrap it inside netutil.LimitListener, so that the connections it closes
// never take one of the global slots. (node/node.go does; it lives here,
// beside the other operator-facing pieces, because both node and httpui
// may import ops.)
func LimitPerSource(ln net.Listener, perSource int, exempt []netip.Prefix) net.Listener {
	return &perSourceListener{Listener: ln, max: perSource, exempt: exempt, open: map[string]int{}}
}

// PerSourceConnections is the per-source cap the node uses for a global
// cap of maxConns: a quarter of it, at least 16. A single source cannot
// take the whole listener; four would, so this is a floor against one
// careless or hostile client, not a defence against a botnet (use a proxy
// or firewall with per-source limits for that).
func PerSourceConnections(maxConns int) int { return max(16, maxConns/4) }

type perSourceListener struct {
	net.Listener
	max    int
	exempt []netip.Prefix

	mu   sync.Mutex
	open map[string]int // open connections by source key
}

func (l *perSourceListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, perr := netip.ParseAddrPort(c.RemoteAddr().String())
		if perr != nil || slices.ContainsFunc(l.exempt, func(p netip.Prefix) bool { return p.Contains(ap.Addr().Unmap()) }) {
			return c, nil
		}
		key := connSourceKey(ap.Addr())
		l.mu.Lock()
		full := l.open[key] >= l.max
		if !full {
			l.open[key]++
		}
		l.mu.Unlock()
		if full {
			c.Close()
			continue
		}
		return &sourceConn{Conn: c, release: func() { l.done(key) }}, nil
	}
}

// connSourceKey is the count's key of a client address: one IPv4
// address, or the /64 an IPv6 subscriber usually holds (as httpui's
// limiters count).
func connSourceKey(ip netip.Addr) string {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.Unmap().String()
}

func (l *perSourceListener) done(key string) {
	l.mu.Lock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
	l.mu.Unlock()
}

// sourceConn gives its source's count back when it closes (once).
type sourceConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *sourceConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
