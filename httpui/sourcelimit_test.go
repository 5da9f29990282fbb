package httpui

import (
	"net/netip"
	"testing"
	"time"
)

func TestSourceLimiter(t *testing.T) {
	t.Parallel()
	l := newSourceLimiter(3, time.Hour, 100)
	a := netip.MustParseAddr("2001:db8:1:2::1")
	for i := range 3 {
		if _, ok := l.allow(a); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	// Another address of the same /64 shares the budget; another /64 does not.
	if wait, ok := l.allow(netip.MustParseAddr("2001:db8:1:2:ffff::9")); ok || wait <= 0 {
		t.Errorf("same /64: ok %v wait %s, want refused with a wait", ok, wait)
	}
	if _, ok := l.allow(netip.MustParseAddr("2001:db8:1:3::1")); !ok {
		t.Error("another /64 was refused")
	}
	// Memory stays bounded under a flood of addresses.
	for i := range 1000 {
		l.allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if n := l.size(); n > 100 {
		t.Errorf("%d budgets held, cap 100", n)
	}
}
