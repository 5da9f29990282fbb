package httpui

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Admin sign-ins are rate limited: failed attempts on an admin account use
// up a per-client-address budget and a per-account budget; while either is
// spent, the login form answers 429 without checking the password. Only
// failures count, so an admin who types the password right is never held
// up by the limit's bookkeeping, and ordinary accounts (which the course's
// UI tests sign in to again and again) are not limited at all. The budgets
// are per node and in memory: an attacker spreading guesses over three
// nodes gets three budgets, which is still a handful of guesses a minute.
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// Budgets: per address 5 failures, then one more a minute; per account 20,
// then one every 15 s, so one noisy address cannot lock an admin out.
const (
	loginIPBurst      = 5
	loginIPEvery      = time.Minute
	loginAccountBurst = 20
	loginAccountEvery = 15 * time.Second
	loginMaxKeys      = 10_000
)

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{buckets: map[string]*rate.Limiter{}}
}

func (l *loginLimiter) bucket(key string, every time.Duration, burst int) *rate.Limiter {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= loginMaxKeys {
			l.sweep()
		}
		b = rate.NewLimiter(rate.Every(every), burst)
		l.buckets[key] = b
	}
	return b
}

// sweep forgets buckets that have refilled: they hold nothing a new one
// would not.
func (l *loginLimiter) sweep() {
	now := time.Now()
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k)
		}
	}
}

// blocked tells whether a sign-in to account from ip must wait, and how
// long.
func (l *loginLimiter) blocked(ip, account string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	var wait time.Duration
	for _, b := range []*rate.Limiter{
		l.bucket("ip:"+ip, loginIPEvery, loginIPBurst),
		l.bucket("user:"+account, loginAccountEvery, loginAccountBurst),
	} {
		if tokens := b.TokensAt(now); tokens < 1 {
			wait = max(wait, time.Duration((1-tokens)/float64(b.Limit())*float64(time.Second)))
		}
	}
	return wait, wait > 0
}

// failed spends one attempt of both budgets.
func (l *loginLimiter) failed(ip, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.bucket("ip:"+ip, loginIPEvery, loginIPBurst).AllowN(now, 1)
	l.bucket("user:"+account, loginAccountEvery, loginAccountBurst).AllowN(now, 1)
}
