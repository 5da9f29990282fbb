package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks every key and fills the parsed forms behind AcceptedIPs
// and TrustedProxies. It returns the first problem, as an *Error naming the
// key; Load also names where the value came from.
func (c *Config) Validate() error {
	return c.validate(func(string) string { return "" })
}

// validate runs the key table's checks in its order (the example file's,
// section by section), with a function that says where a key's value came
// from, for the error message.
func (c *Config) validate(source func(key string) string) error {
	for _, k := range table() {
		if k.check == nil {
			continue
		}
		if err := k.check(c); err != nil {
			return &Error{Key: k.name, Source: source(k.name), Msg: err.Error()}
		}
	}
	return nil
}

// durationIn checks lo <= d <= hi; loText and hiText are how the message
// writes the bounds.
func durationIn(d Duration, lo, hi time.Duration, loText, hiText string) error {
	if v := time.Duration(d); v < lo || v > hi {
		return fmt.Errorf("must be from %s to %s (is %s)", loText, hiText, v)
	}
	return nil
}

func nonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

// checkHostPort accepts host:port with a numeric port 0..65535 (0 lets the
// system choose, which tests rely on). The host may be empty, meaning every
// interface, only when emptyHostOK.
func checkHostPort(addr string, emptyHostOK bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	switch {
	case host == "" && !emptyHostOK:
		return fmt.Errorf("%q has no host", addr)
	case host == "":
		return nil
	case !validHost(host):
		return fmt.Errorf("%q: %q is neither an IP address nor a host name", addr, host)
	}
	return nil
}

// validHost accepts an IP address or a DNS-style name. Underscores are
// allowed because container runtimes resolve service names that have them.
func validHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !isAlnum(r) && r != '-' && r != '_' {
				return false
			}
		}
	}
	return true
}

func checkNodeID(id string) error {
	if id == "" || len(id) > maxNodeIDLen {
		return fmt.Errorf("%q must be 1 to %d characters long", id, maxNodeIDLen)
	}
	for _, r := range id {
		if !isAlnum(r) && r != '.' && r != '_' && r != '-' {
			return fmt.Errorf("%q may contain only letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}

// checkRaftAddr: the address is advertised to the other nodes, so it must
// name this node, not "any interface".
func checkRaftAddr(addr string) error {
	if err := checkHostPort(addr, false); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return fmt.Errorf("host %q is not an address other nodes can reach; give this node's own IP or name (it is advertised to the cluster)", host)
	}
	return nil
}

func checkJoin(addrs []string) error {
	for _, a := range addrs {
		if err := checkHostPort(a, false); err != nil {
			return fmt.Errorf("entry %w", err)
		}
	}
	return nil
}

// checkJoinToken never quotes the token: errors end up in logs.
func checkJoinToken(token string) error {
	if token != "" && utf8.RuneCountInString(token) < minJoinTokenLen {
		return fmt.Errorf("must be at least %d characters", minJoinTokenLen)
	}
	return nil
}

// checkUsername rejects ':' because HTTP Basic auth splits user from
// password at the first colon.
func checkUsername(name string) error {
	if name == "" {
		return fmt.Errorf("must not be empty")
	}
	if strings.Contains(name, ":") {
		return fmt.Errorf("%q must not contain ':'", name)
	}
	return nil
}

func inRange(n, lo, hi int64) error {
	switch {
	case n < lo:
		return fmt.Errorf("must be at least %d (is %d)", lo, n)
	case n > hi:
		return fmt.Errorf("must be at most %d (is %d)", hi, n)
	}
	return nil
}

func checkLevel(level string) error {
	if _, ok := parseLevel(level); !ok {
		return fmt.Errorf("%q must be one of debug, info, warn, error", level)
	}
	return nil
}

// parseAcceptedIPs returns nil for ["*"], meaning every address. An empty
// list is refused rather than read as "nobody": closing the simulator API
// is not something this key should do by accident.
func parseAcceptedIPs(entries []string) ([]netip.Prefix, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf(`must not be empty; use ["*"] to accept every address`)
	}
	for _, e := range entries {
		if e == "*" {
			if len(entries) != 1 {
				return nil, fmt.Errorf(`"*" must be the only entry`)
			}
			return nil, nil
		}
	}
	return parsePrefixes(entries)
}

// parsePrefixes reads IPs and CIDRs; a bare IP becomes a single-address
// prefix, so callers need only Prefix.Contains.
func parsePrefixes(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		p, err := parsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("entry %q is not an IP address or CIDR", e)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if ip.Zone() != "" {
		// A zone ties the address to one interface; a remote address as seen
		// by the HTTP server carries none, so it would never match.
		return netip.Prefix{}, fmt.Errorf("zoned address")
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
