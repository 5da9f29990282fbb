package node

import (
	"net"
	"os"
	"strings"
	"testing"
)

// TestReachableAddr: the sign-in address in the first admin's log line is
// one a person can type, even when the listener is on all interfaces.
func TestReachableAddr(t *testing.T) {
	host, _ := os.Hostname()
	for _, listen := range []string{"127.0.0.1:0", "0.0.0.0:0", "[::]:0"} {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			t.Skipf("cannot listen on %s: %v", listen, err)
		}
		n := &Node{httpLn: ln}
		got := n.reachableAddr()
		ln.Close()
		h, port, err := net.SplitHostPort(got)
		if err != nil || port == "0" {
			t.Errorf("%s: %q is not host:port", listen, got)
		}
		switch {
		case strings.HasPrefix(listen, "127."):
			if h != "127.0.0.1" {
				t.Errorf("%s shown as %q", listen, got)
			}
		case h != host && h != "localhost":
			t.Errorf("%s shown as %q, want the host name %q", listen, got, host)
		}
	}
}
