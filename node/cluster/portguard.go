package cluster

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// The port guard bounds what the internode port spends on peers that have
// proven nothing yet: a peer without a cluster certificate that has not
// (yet) proven the join token.
//
//   - At most maxUnauthenticated such connections are open at once (TLS
//     handshake, preface, first join message). When one more arrives, the
//     oldest is closed rather than the newcomer refused: a real peer gets
//     through its handshake and first message in milliseconds, so the
//     oldest is the one most likely to be idle, and holding connections
//     open cannot lock members or joiners out. Each costs at most a TLS
//     record buffer and the first join message's buffer (maxJoinMessage),
//     so all of them together stay within a few MiB.
//   - A source address that sent a wrong join token is backed off: its
//     next join attempts are answered "retry in ..." without looking at
//     the proof, for a time that doubles with every wrong token (from
//     wrongTokenBackoff up to maxWrongTokenBackoff). The record is
//     forgotten after a quiet period, and a right token clears it.
//   - Refusals are counted and logged as one line per interval (with the
//     busiest sources), not one line per attempt, so a guessing peer
//     cannot push the useful lines out of the log.
const (
	maxUnauthenticated   = 64
	wrongTokenBackoff    = 500 * time.Millisecond
	maxWrongTokenBackoff = time.Minute
	forgetSourceAfter    = 10 * time.Minute
	maxTrackedSources    = 4096
	refusalLogInterval   = 10 * time.Second
	refusalLogSources    = 5 // busiest sources named in the log line
)

// Reasons a peer was refused, as counted in the aggregated log line.
const (
	refusedWrongToken = "wrong_token"
	refusedBackedOff  = "backed_off"
	refusedNoCert     = "no_certificate"
	refusedBadMessage = "bad_join_message"
	refusedIdle       = "dropped_idle"
	refusedNotMember  = "not_a_member" // a certificate of the CA whose node id is not in the configuration
)

type portGuard struct {
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]net.Conn // unauthenticated connections by arrival
	sources map[string]*sourceRecord
	refused map[string]int // reason -> count since the last log line
	bySrc   map[string]int // source -> refusals since the last log line
}

type sourceRecord struct {
	wrongTokens int
	until       time.Time // backed off until
	last        time.Time // last wrong token
}

func newPortGuard(log *slog.Logger, interval time.Duration) *portGuard {
	if interval <= 0 {
		interval = refusalLogInterval
	}
	return &portGuard{log: log, interval: interval,
		pending: map[uint64]net.Conn{}, sources: map[string]*sourceRecord{},
		refused: map[string]int{}, bySrc: map[string]int{}}
}

// admit registers a connection that has proven nothing yet, closing the
// oldest such connection when there are too many. The returned release
// takes it off the list once it has proven itself (or is done); it may be
// called more than once.
func (g *portGuard) admit(conn net.Conn) (release func()) {
	g.mu.Lock()
	var evict net.Conn
	if len(g.pending) >= maxUnauthenticated {
		oldest := ^uint64(0)
		for id := range g.pending {
			oldest = min(oldest, id)
		}
		evict = g.pending[oldest]
		delete(g.pending, oldest)
		g.countLocked(refusedIdle, evict.RemoteAddr())
	}
	g.seq++
	id := g.seq
	g.pending[id] = conn
	g.mu.Unlock()
	if evict != nil {
		// The raw connection: closing the TLS one may first try to send
		// an alert to a peer that does not read.
		if tc, ok := evict.(*tls.Conn); ok {
			evict = tc.NetConn()
		}
		evict.Close()
	}
	return func() {
		g.mu.Lock()
		delete(g.pending, id)
		g.mu.Unlock()
	}
}

// backedOff returns how long the source of addr must still wait before
// its join attempts are looked at again (zero: not backed off).
func (g *portGuard) backedOff(addr net.Addr) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.sources[sourceOf(addr)]
	if r == nil {
		return 0
	}
	return max(0, time.Until(r.until))
}

// wrongToken records a wrong join token from addr's source and backs it
// off.
func (g *portGuard) wrongToken(addr net.Addr) {
	src := sourceOf(addr)
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.sources[src]
	if r == nil {
		if len(g.sources) >= maxTrackedSources {
			g.forgetLocked(now, true)
		}
		r = &sourceRecord{}
		g.sources[src] = r
	}
	r.wrongTokens++
	wait := maxWrongTokenBackoff
	if shift := r.wrongTokens - 1; shift < 16 {
		wait = min(wait, wrongTokenBackoff<<shift)
	}
	r.until, r.last = now.Add(wait), now
}

// tokenProven forgets addr's source's wrong tokens.
func (g *portGuard) tokenProven(addr net.Addr) {
	g.mu.Lock()
	delete(g.sources, sourceOf(addr))
	g.mu.Unlock()
}

// forgetLocked drops sources quiet for forgetSourceAfter, and, when full
// is set and none is that quiet, the one quiet longest.
func (g *portGuard) forgetLocked(now time.Time, full bool) {
	var quietest string
	for src, r := range g.sources {
		if now.Sub(r.last) > forgetSourceAfter && now.After(r.until) {
			delete(g.sources, src)
			full = false
		} else if quietest == "" || r.last.Before(g.sources[quietest].last) {
			quietest = src
		}
	}
	if full && quietest != "" {
		delete(g.sources, quietest)
	}
}

// refuse counts a refusal for the next aggregated log line.
func (g *portGuard) refuse(reason string, addr net.Addr) {
	g.mu.Lock()
	g.countLocked(reason, addr)
	g.mu.Unlock()
}

func (g *portGuard) countLocked(reason string, addr net.Addr) {
	g.refused[reason]++
	src := sourceOf(addr)
	if _, ok := g.bySrc[src]; ok || len(g.bySrc) < maxTrackedSources {
		g.bySrc[src]++
	}
}

// run logs the refusals of each interval in one line until done closes.
func (g *portGuard) run(done <-chan struct{}) {
	t := time.NewTicker(g.interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			g.flush()
			return
		case <-t.C:
			g.flush()
		}
	}
}

func (g *portGuard) flush() {
	g.mu.Lock()
	g.forgetLocked(time.Now(), false)
	if len(g.refused) == 0 {
		g.mu.Unlock()
		return
	}
	attrs := []any{"interval", g.interval.String()}
	reasons := make([]string, 0, len(g.refused))
	for r := range g.refused {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		attrs = append(attrs, r, g.refused[r])
	}
	srcs := make([]string, 0, len(g.bySrc))
	for s := range g.bySrc {
		srcs = append(srcs, s)
	}
	sort.Slice(srcs, func(i, j int) bool {
		if g.bySrc[srcs[i]] != g.bySrc[srcs[j]] {
			return g.bySrc[srcs[i]] > g.bySrc[srcs[j]]
		}
		return srcs[i] < srcs[j]
	})
	named := make([]string, 0, refusalLogSources)
	for _, s := range srcs[:min(len(srcs), refusalLogSources)] {
		named = append(named, fmt.Sprintf("%s=%d", s, g.bySrc[s]))
	}
	attrs = append(attrs, "sources", strings.Join(named, ","), "source_count", len(srcs))
	clear(g.refused)
	clear(g.bySrc)
	g.mu.Unlock()
	g.log.Warn("internode port refused peers without a certificate", attrs...)
}

// sourceOf is the host part of a peer address: backoff and counts are per
// host, whatever port it dials from.
func sourceOf(addr net.Addr) string {
	if addr == nil {
		return "unknown"
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}
