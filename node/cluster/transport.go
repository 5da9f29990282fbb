package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// One internode port (raft_addr) carries Raft, the cluster RPC and the join
// handshake. Every connection is TLS 1.3; after the handshake the client
// sends one byte saying what it wants. Raft and RPC connections must carry
// a certificate from the cluster CA, or they are closed without a word;
// only the join handshake accepts a peer without one, and it answers only
// a peer that proves the join token (join.go). Until a peer has shown a
// certificate or proven the token, the port guard (portguard.go) bounds
// what it may cost.
const (
	prefaceRaft byte = 'R'
	prefaceRPC  byte = 'C'
	prefaceJoin byte = 'J'

	handshakeTimeout = 5 * time.Second
)

// Listener accepts on raft_addr and sorts connections by preface.
type Listener struct {
	ln    net.Listener // TLS
	log   *slog.Logger
	guard *portGuard
	raft  chan net.Conn
	rpc   chan net.Conn
	join  chan joinConn

	// raftPeer, when set, says whether a certificate's node id may open a
	// Raft connection now (boundary.go); raftConns are the open ones by
	// peer id, closed when the peer leaves the configuration.
	raftPeer  func(cert *x509.Certificate) bool
	raftMu    sync.Mutex
	raftConns map[*raftConn]*x509.Certificate

	// guarded are accepted RPC connections of non-members that stay on
	// the port guard's list until they close (holdGuarded).
	guardedMu sync.Mutex
	guarded   map[net.Conn]func()

	closeOnce sync.Once
	closed    chan struct{}
}

// holdGuarded keeps conn on the port guard's list until the RPC server
// reports it closed (connClosed).
func (l *Listener) holdGuarded(conn net.Conn, release func()) {
	l.guardedMu.Lock()
	if l.guarded == nil {
		l.guarded = map[net.Conn]func(){}
	}
	l.guarded[conn] = release
	l.guardedMu.Unlock()
}

// connClosed takes a closed RPC connection off the port guard's list, if
// it was held there; it is the RPC server's ConnState hook.
func (l *Listener) connClosed(conn net.Conn, state http.ConnState) {
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	l.guardedMu.Lock()
	release := l.guarded[conn]
	delete(l.guarded, conn)
	l.guardedMu.Unlock()
	if release != nil {
		release()
	}
}

// joinConn is a connection that asked to join: it has no certificate, so
// it stays on the port guard's list (release takes it off) until it has
// proven the token.
type joinConn struct {
	conn    *tls.Conn
	release func()
}

// newListener starts sorting connections accepted on ln, a TLS
// listener with the node's server configuration. Refusals are logged
// together every logInterval (zero: refusalLogInterval). raftPeer, when
// not nil, says which peers may open Raft connections.
func newListener(ln net.Listener, log *slog.Logger, logInterval time.Duration, raftPeer func(cert *x509.Certificate) bool) *Listener {
	l := &Listener{
		ln: ln, log: log, guard: newPortGuard(log, logInterval), raftPeer: raftPeer,
		raft: make(chan net.Conn), rpc: make(chan net.Conn), join: make(chan joinConn),
		raftConns: map[*raftConn]*x509.Certificate{}, closed: make(chan struct{}),
	}
	go l.acceptLoop()
	go l.guard.run(l.closed)
	return l
}

func (l *Listener) acceptLoop() {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			l.log.Warn("cluster listener stopped", "err", err.Error())
			return
		}
		release := l.guard.admit(conn)
		go l.sort(conn.(*tls.Conn), release)
	}
}

// sort completes the handshake, reads the preface and hands the connection
// on; anything unexpected is closed. release takes the connection off the
// port guard's list of unauthenticated ones.
func (l *Listener) sort(conn *tls.Conn, release func()) {
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	var preface [1]byte
	if err := conn.Handshake(); err != nil {
		release()
		conn.Close()
		return
	}
	if _, err := conn.Read(preface[:]); err != nil {
		release()
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	authenticated := hasClusterCert(conn.ConnectionState())
	var dest chan net.Conn
	var out net.Conn = conn
	switch {
	case preface[0] == prefaceRaft && authenticated:
		cert := peerCert(conn.ConnectionState())
		if l.raftPeer != nil && !l.raftPeer(cert) {
			l.guard.refuse(refusedNotMember, conn.RemoteAddr())
			release()
			conn.Close()
			return
		}
		rc := &raftConn{Conn: conn, l: l}
		l.raftMu.Lock()
		l.raftConns[rc] = cert
		l.raftMu.Unlock()
		dest, out = l.raft, rc
	case preface[0] == prefaceRPC && authenticated:
		dest = l.rpc
		if l.raftPeer != nil && !l.raftPeer(peerCert(conn.ConnectionState())) {
			// A certificate of the CA whose node id is not a member (a
			// removed node, a joiner past its bound): it still gets its
			// answer, not_member (boundary.go), but its connection stays on
			// the port guard's list of unproven ones until it closes, so
			// such peers hold no more connections between them than peers
			// without a certificate. (Handing it over released it before,
			// and a removed node could hold thousands of idle connections.)
			l.holdGuarded(conn, release)
			release = func() {}
		}
	case preface[0] == prefaceJoin:
		select {
		case l.join <- joinConn{conn: conn, release: release}:
		case <-l.closed:
			release()
			conn.Close()
		}
		return
	default:
		l.guard.refuse(refusedNoCert, conn.RemoteAddr())
		release()
		conn.Close()
		return
	}
	release()
	select {
	case dest <- out:
	case <-l.closed:
		out.Close()
	}
}

// raftConn is an accepted Raft connection, on the listener's list until it
// closes.
type raftConn struct {
	*tls.Conn
	l *Listener
}

func (c *raftConn) Close() error {
	c.l.raftMu.Lock()
	delete(c.l.raftConns, c)
	c.l.raftMu.Unlock()
	return c.Conn.Close()
}

// closeRaftConns closes the accepted Raft connections of peers that may no
// longer use the port.
func (l *Listener) closeRaftConns(allowed func(cert *x509.Certificate) bool) {
	l.raftMu.Lock()
	var drop []*raftConn
	for c, cert := range l.raftConns {
		if !allowed(cert) {
			drop = append(drop, c)
		}
	}
	l.raftMu.Unlock()
	for _, c := range drop {
		_ = c.Close() // dropping it is the point; an error changes nothing
	}
}

func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closed)
		err = l.ln.Close()
	})
	return err
}

func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// chanListener is a net.Listener fed from a channel of sorted connections.
// Closing it closes the shared port, unless it was made by ownListener.
type chanListener struct {
	l    *Listener
	ch   chan net.Conn
	done chan struct{} // non-nil: Close ends only this listener
	once *sync.Once
}

// ownListener is a chanListener whose Close stops only its own Accept, so
// that its server can shut down while the port keeps serving the others.
func ownListener(l *Listener, ch chan net.Conn) chanListener {
	return chanListener{l: l, ch: ch, done: make(chan struct{}), once: new(sync.Once)}
}

func (c chanListener) Accept() (net.Conn, error) {
	select {
	case conn := <-c.ch:
		return conn, nil
	case <-c.l.closed:
		return nil, net.ErrClosed
	case <-c.done: // nil (blocks) unless made by ownListener
		return nil, net.ErrClosed
	}
}

func (c chanListener) Close() error {
	if c.done != nil {
		c.once.Do(func() { close(c.done) })
		return nil
	}
	return c.l.Close()
}

func (c chanListener) Addr() net.Addr { return c.l.Addr() }

// dialCluster opens an authenticated connection to a member and sends the
// preface.
func dialCluster(ctx context.Context, t *TLS, addr string, preface byte) (*tls.Conn, error) {
	var tc *tls.Conn
	if t.Dial != nil {
		raw, err := t.Dial(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		tc = tls.Client(raw, t.clientConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
	} else {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: handshakeTimeout}, Config: t.clientConfig()}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		tc = conn.(*tls.Conn)
	}
	if _, err := tc.Write([]byte{preface}); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

// raftStream is hashicorp/raft's StreamLayer over the cluster listener.
type raftStream struct {
	chanListener
	tls *TLS
}

var _ raft.StreamLayer = (*raftStream)(nil)

func (s *raftStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialCluster(ctx, s.tls, string(addr), prefaceRaft)
}
