package auth

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

func TestLoginLimiterAddressBudget(t *testing.T) {
	t.Parallel()
	l := NewLoginLimiter()
	ip := netip.MustParseAddr("192.0.2.7")
	// Correct passwords never spend the budget.
	for range 20 {
		done, _, ok := l.Begin(ip, "root")
		if !ok {
			t.Fatal("a correct sign-in was limited")
		}
		done(true)
	}
	for i := range loginIPBurst {
		done, _, ok := l.Begin(ip, "root")
		if !ok {
			t.Fatalf("failure %d was refused before the budget was spent", i+1)
		}
		done(false)
	}
	if _, wait, ok := l.Begin(ip, "root"); ok || wait <= 0 {
		t.Errorf("after %d failures: ok %v, wait %s; want refused with a wait", loginIPBurst, ok, wait)
	}
	// The same /64 shares the budget of an IPv6 client; another does not.
	v6 := netip.MustParseAddr("2001:db8:1:2::1")
	for range loginIPBurst {
		done, _, _ := l.Begin(v6, "root")
		done(false)
	}
	if _, _, ok := l.Begin(netip.MustParseAddr("2001:db8:1:2:ffff::9"), "root"); ok {
		t.Error("another address of the same /64 has a budget of its own")
	}
	if _, _, ok := l.Begin(netip.MustParseAddr("2001:db8:1:3::1"), "root"); !ok {
		t.Error("another /64 was refused")
	}
}

// TestLoginLimiterParallelBurst: guesses sent at once cannot all slip in
// before the first failure is counted.
func TestLoginLimiterParallelBurst(t *testing.T) {
	t.Parallel()
	l := NewLoginLimiter()
	ip := netip.MustParseAddr("198.51.100.1")
	var mu sync.Mutex
	var admitted []func(bool)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if done, _, ok := l.Begin(ip, "root"); ok {
				mu.Lock()
				admitted = append(admitted, done)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(admitted) != loginIPBurst {
		t.Errorf("%d of 200 parallel guesses were checked, want %d", len(admitted), loginIPBurst)
	}
	for _, done := range admitted {
		done(false)
	}
}

// TestLoginLimiterNoLockout: many addresses spend the account's budget,
// yet an admin whose address has no failures still gets to try.
func TestLoginLimiterNoLockout(t *testing.T) {
	t.Parallel()
	l := NewLoginLimiter()
	for i := range loginAccountBurst + 5 {
		done, _, ok := l.Begin(netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", i+1)), "root")
		if ok {
			done(false)
		}
	}
	attacker := netip.MustParseAddr("203.0.113.1")
	if _, _, ok := l.Begin(attacker, "root"); ok {
		t.Error("an address that failed may still try while the account's budget is spent")
	}
	admin := netip.MustParseAddr("192.0.2.200")
	done, _, ok := l.Begin(admin, "root")
	if !ok {
		t.Fatal("the admin, from a clean address, is locked out")
	}
	done(true)
	if done, _, ok := l.Begin(admin, "root"); !ok {
		t.Error("the admin's correct sign-in spent their address budget")
	} else {
		done(true)
	}
}

func TestLoginLimiterMemoryBound(t *testing.T) {
	t.Parallel()
	l := NewLoginLimiter()
	for i := range loginMaxKeys + 2000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		done, _, ok := l.Begin(ip, "root")
		if ok {
			done(false)
		}
	}
	if n := len(l.buckets); n > loginMaxKeys {
		t.Errorf("%d buckets, more than the cap %d", n, loginMaxKeys)
	}
}

// TestUserLoginBudget: the budget of ordinary accounts counts IPv6
// clients by /64 and stays bounded in memory.
func TestUserLoginBudget(t *testing.T) {
	t.Parallel()
	l := NewLoginLimiterWith(UserLoginBudget)
	for i := range UserLoginBudget.IPBurst {
		ip := netip.MustParseAddr(fmt.Sprintf("2001:db8:7:7::%x", i+1))
		done, _, ok := l.Begin(ip, fmt.Sprintf("user%d", i))
		if !ok {
			t.Fatalf("failure %d refused within the budget", i+1)
		}
		done(false)
	}
	if _, _, ok := l.Begin(netip.MustParseAddr("2001:db8:7:7:abcd::1"), "fresh"); ok {
		t.Error("another address of a spent /64 was let through")
	}
	if _, _, ok := l.Begin(netip.MustParseAddr("2001:db8:7:8::1"), "fresh"); !ok {
		t.Error("a neighbouring /64 was refused")
	}
	for i := range 3 * loginMaxKeys {
		done, _, _ := l.Begin(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), fmt.Sprintf("n%d", i))
		if done != nil {
			done(false)
		}
	}
	l.mu.Lock()
	n := len(l.buckets)
	l.mu.Unlock()
	if n > loginMaxKeys {
		t.Errorf("%d budgets held, cap %d", n, loginMaxKeys)
	}
}
