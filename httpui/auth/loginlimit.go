package auth

import (
	"net/netip"
	"sync"
	"time"
)

// LoginLimiter rate limits sign-ins; httpui guards admin accounts with it.
// Each attempt on an admin account takes one token from a budget of the
// client's address and one from a budget of the account *before* the
// password is checked, so a burst of parallel guesses cannot all slip in
// before the first failure is counted; a correct password gives its tokens
// back. While a budget is spent the login form answers 429 without checking
// the password.
//
// An attacker spreading guesses over many addresses spends the account's
// budget; the account does not lock then: a client whose own address
// budget is untouched (an admin who has not mistyped lately) may still try,
// and only that client's address pays. So the attacker gets one guess per
// fresh address while the account budget is spent, and the admin is never
// locked out. IPv6 clients are counted by /64, the block one subscriber
// usually holds.
//
// Ordinary accounts are not limited at all: the course's UI tests sign in
// to them again and again. The budgets are per node and in memory: an
// attacker spreading guesses over three nodes gets three budgets.
type LoginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*tokenBucket
	budget  LoginBudget
}

// LoginBudget is a limiter's allowance: per address IPBurst failures, then
// one every IPEvery; per account likewise.
type LoginBudget struct {
	IPBurst, AccountBurst int
	IPEvery, AccountEvery time.Duration
}

// UserLoginBudget is the budget of ordinary accounts: generous enough for
// people and the course's UI tests (per address 20 failures, then one
// every 10 s; per account likewise). Admin accounts keep the stricter
// default of NewLoginLimiter.
var UserLoginBudget = LoginBudget{IPBurst: 20, AccountBurst: 20, IPEvery: 10 * time.Second, AccountEvery: 10 * time.Second}

// tokenBucket holds up to burst tokens and gains one every `every`. (Not
// golang.org/x/time/rate: a correct password must give its token back,
// which rate.Reservation cannot once the reservation has acted.)
type tokenBucket struct {
	tokens float64
	burst  float64
	every  time.Duration
	at     time.Time // when tokens was last brought up to date
}

func (b *tokenBucket) level(now time.Time) float64 {
	if now.After(b.at) {
		b.tokens = min(b.burst, b.tokens+float64(now.Sub(b.at))/float64(b.every))
		b.at = now
	}
	return b.tokens
}

// take spends a token, or says how long until there is one.
func (b *tokenBucket) take(now time.Time) (time.Duration, bool) {
	if t := b.level(now); t < 1 {
		return time.Duration((1 - t) * float64(b.every)), false
	}
	b.tokens--
	return 0, true
}

func (b *tokenBucket) refund(now time.Time) { b.tokens = min(b.burst, b.level(now)+1) }

// Budgets: per address 5 attempts, then one more a minute; per account 20,
// then one every 15 s.
const (
	loginIPBurst      = 5
	loginIPEvery      = time.Minute
	loginAccountBurst = 20
	loginAccountEvery = 15 * time.Second
	// loginMaxKeys caps the limiter's memory (about 100 bytes a key).
	loginMaxKeys = 10_000
)

// NewLoginLimiter returns a limiter with the admin accounts' budget, every
// budget full.
func NewLoginLimiter() *LoginLimiter {
	return NewLoginLimiterWith(LoginBudget{loginIPBurst, loginAccountBurst, loginIPEvery, loginAccountEvery})
}

// NewLoginLimiterWith returns a limiter with budget b, every budget full.
func NewLoginLimiterWith(b LoginBudget) *LoginLimiter {
	return &LoginLimiter{buckets: map[string]*tokenBucket{}, budget: b}
}

// addressKey is the budget key of a client address.
func addressKey(ip netip.Addr) string {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return "net:" + p.String()
	}
	return "ip:" + ip.Unmap().String()
}

func (l *LoginLimiter) bucket(key string, every time.Duration, burst int, now time.Time) *tokenBucket {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= loginMaxKeys {
			l.makeRoom(now)
		}
		b = &tokenBucket{tokens: float64(burst), burst: float64(burst), every: every, at: now}
		l.buckets[key] = b
	}
	return b
}

// makeRoom forgets buckets that have refilled (they hold nothing a new one
// would not) and, if that is not enough, arbitrary others: a flood of
// addresses costs some forgotten failures, never unbounded memory.
func (l *LoginLimiter) makeRoom(now time.Time) {
	for k, b := range l.buckets {
		if b.level(now) >= b.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < loginMaxKeys*9/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// Begin takes an attempt at account from ip. When the attempt may not be
// made it returns how long to wait and ok=false; otherwise done must be
// called with the outcome: a correct password gives the tokens back.
func (l *LoginLimiter) Begin(ip netip.Addr, account string) (done func(correct bool), wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	addr := l.bucket(addressKey(ip), l.budget.IPEvery, l.budget.IPBurst, now)
	acct := l.bucket("user:"+account, l.budget.AccountEvery, l.budget.AccountBurst, now)
	clean := addr.level(now) >= addr.burst
	if d, ok := addr.take(now); !ok {
		return nil, d, false
	}
	tookAccount := true
	if d, ok := acct.take(now); !ok {
		if !clean {
			addr.refund(now)
			return nil, d, false
		}
		tookAccount = false // the account is under attack; this client has a clean record
	}
	return func(correct bool) {
		if !correct {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		now := time.Now()
		addr.refund(now)
		if tookAccount {
			acct.refund(now)
		}
	}, 0, true
}
