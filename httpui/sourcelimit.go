package httpui

import (
	"net/netip"
	"sync"
	"time"
)

// sourceLimiter is a per-source request budget (a token bucket per client
// address, IPv6 counted by /64) with bounded memory. It guards what anyone
// may do without credentials yet must not do without limit, such as
// creating users through POST /api/register.
type sourceLimiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	maxKeys int
	buckets map[string]*sourceBucket
}

type sourceBucket struct {
	tokens float64
	at     time.Time
}

func newSourceLimiter(burst int, every time.Duration, maxKeys int) *sourceLimiter {
	return &sourceLimiter{burst: float64(burst), every: every, maxKeys: maxKeys, buckets: map[string]*sourceBucket{}}
}

// sourceKey is the budget key of a client address: one IPv4 address, or
// the /64 an IPv6 subscriber usually holds.
func sourceKey(ip netip.Addr) string {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.Unmap().String()
}

func (l *sourceLimiter) level(b *sourceBucket, now time.Time) float64 {
	if now.After(b.at) {
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
		b.at = now
	}
	return b.tokens
}

// allow spends one token of ip's budget, or says how long until one is back.
func (l *sourceLimiter) allow(ip netip.Addr) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	key := sourceKey(ip)
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.makeRoom(now)
		}
		b = &sourceBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if t := l.level(b, now); t < 1 {
		return time.Duration((1 - t) * float64(l.every)), false
	}
	b.tokens--
	return 0, true
}

// makeRoom forgets full buckets (a new one would be the same), then
// arbitrary ones: a flood of addresses costs forgotten budgets, never
// unbounded memory.
func (l *sourceLimiter) makeRoom(now time.Time) {
	for k, b := range l.buckets {
		if l.level(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < l.maxKeys*9/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// size is the number of budgets held (for tests of the memory bound).
func (l *sourceLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
