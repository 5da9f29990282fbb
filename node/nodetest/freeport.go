package nodetest

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FreePort returns a TCP port, free on every interface a moment ago, for a
// server that must be told its port before it starts (a process under
// test, an ACME server's validation port). Prefer 127.0.0.1:0 wherever the
// port can be read back after listening.
//
// The port is taken below the kernel's ephemeral range: ports in that range
// are what the kernel gives to every ":0" listener and every outgoing
// connection of every process on the machine, so a port probed free there
// can be taken again before the server binds it (on a busy machine, with
// another test run beside this one, it is). Below the range only a process
// that chose the port itself can collide, and FreePort never hands out a
// port twice in one test process.
func FreePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	lo := max(low-16384, 1024)
	for range 1000 {
		port := lo + rand.IntN(low-lo)
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue
		}
		l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err != nil {
			continue // someone has it
		}
		l.Close()
		return port
	}
	t.Fatalf("no free port in %d-%d", lo, low-1)
	return 0
}

// FreeAddr is FreePort on 127.0.0.1, as "127.0.0.1:port".
func FreeAddr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePort(t))
}

var handedOut sync.Map

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				low = n
			}
		}
	}
	return low
}
