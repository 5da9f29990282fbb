package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"minitwit/httpui"
	"minitwit/store"
)

// Limits that Validate enforces.
const (
	maxNodeIDLen       = 64
	minJoinTokenLen    = 16
	maxAPIMaxNo        = 1_000_000
	minAPIMaxBodyBytes = 1024
	maxAPIMaxBodyBytes = 16 << 20
)

// Validate checks every key and fills the parsed forms behind AcceptedIPs
// and TrustedProxies. It returns the first problem, as an *Error naming the
// key; Load also names where the value came from.
func (c *Config) Validate() error {
	return c.validate(func(string) string { return "" })
}

// validate is Validate with a function that says where a key's value came
// from, for the error message.
func (c *Config) validate(source func(key string) string) error {
	var accepted, proxies []netip.Prefix
	checks := []struct {
		key   string
		check func() error
	}{
		{"data_dir", func() error { return nonEmpty(c.DataDir) }},
		{"http_addr", func() error { return checkHostPort(c.HTTPAddr, true) }},
		{"node_id", func() error { return checkNodeID(c.NodeID) }},
		{"raft_addr", func() error { return checkRaftAddr(c.RaftAddr) }},
		{"join", func() error { return checkJoin(c.Join) }},
		{"join_token", func() error { return checkJoinToken(c.JoinToken) }},
		{"join_token", func() error {
			if len(c.Join) > 0 && c.JoinToken == "" {
				return fmt.Errorf("joining a cluster (join is set) needs the cluster's join token")
			}
			return nil
		}},
		{"trusted_proxies", func() (err error) { proxies, err = parsePrefixes(c.TrustedProxyIPs); return err }},
		{"simulator.username", func() error { return checkUsername(c.Simulator.Username) }},
		{"simulator.accepted_ips", func() (err error) { accepted, err = parseAcceptedIPs(c.Simulator.AcceptedIPs); return err }},
		{"api.max_no", func() error { return inRange(int64(c.API.MaxNo), 1, maxAPIMaxNo) }},
		{"api.max_body_bytes", func() error { return inRange(c.API.MaxBodyBytes, minAPIMaxBodyBytes, maxAPIMaxBodyBytes) }},
		{"http.max_connections", func() error { return inRange(int64(c.HTTP.MaxConnections), 16, 1_000_000) }},
		{"http.idle_timeout", func() error {
			if d := time.Duration(c.HTTP.IdleTimeout); d < time.Second || d > time.Hour {
				return fmt.Errorf("must be from 1s to 1h (is %s)", d)
			}
			return nil
		}},
		{"raft.snapshot_threshold", func() error { return inRange(int64(c.Raft.SnapshotThreshold), 16, 10_000_000) }},
		{"raft.trailing_logs", func() error { return inRange(int64(c.Raft.TrailingLogs), 0, 10_000_000) }},
		{"raft.snapshot_interval", func() error {
			if d := time.Duration(c.Raft.SnapshotInterval); d < 100*time.Millisecond || d > time.Hour {
				return fmt.Errorf("must be from 100ms to 1h (is %s)", d)
			}
			return nil
		}},
		{"log.level", func() error { return checkLevel(c.Log.Level) }},
		{"log.max_size_mb", func() error { return inRange(int64(c.Log.MaxSizeMB), 1, 100_000) }},
		{"log.max_files", func() error { return inRange(int64(c.Log.MaxFiles), 0, 1000) }},
		{"tls.mode", func() error {
			switch c.TLS.Mode {
			case "", TLSOff, TLSSelfSigned, TLSACME:
				return nil
			}
			return fmt.Errorf("%q is not off, self-signed or acme", c.TLS.Mode)
		}},
		{"tls.domain", func() error {
			switch {
			case c.TLSMode() == TLSACME && c.TLS.Domain == "":
				return fmt.Errorf("tls.mode acme needs the public DNS name the certificate is for")
			case c.TLS.Domain != "" && (!validHost(c.TLS.Domain) || net.ParseIP(c.TLS.Domain) != nil || strings.Contains(c.TLS.Domain, "_")):
				return fmt.Errorf("%q is not a DNS name", c.TLS.Domain)
			}
			return nil
		}},
		{"tls.acme_ca", func() error {
			if c.TLSMode() == TLSACME && !strings.HasPrefix(c.TLS.ACMECA, "https://") {
				return fmt.Errorf("%q is not an https:// ACME directory URL", c.TLS.ACMECA)
			}
			return nil
		}},
		{"tls.email", func() error {
			if c.TLS.Email != "" && (!strings.Contains(c.TLS.Email, "@") || strings.ContainsAny(c.TLS.Email, " \t\n")) {
				return fmt.Errorf("%q is not an e-mail address", c.TLS.Email)
			}
			return nil
		}},
		{"tls.redirect_addr", func() error {
			if c.TLS.RedirectAddr == "" {
				return nil
			}
			if c.TLSMode() == TLSOff {
				return fmt.Errorf("redirects to HTTPS need tls.mode self-signed or acme")
			}
			return checkHostPort(c.TLS.RedirectAddr, true)
		}},
		{"tls.ca_bundle", func() error {
			if c.TLS.CABundle == "" {
				return nil
			}
			_, err := os.Stat(c.TLS.CABundle)
			return err
		}},
		{"backup.interval", func() error {
			if d := time.Duration(c.Backup.Interval); d < time.Second || d > 30*24*time.Hour {
				return fmt.Errorf("must be from 1s to 720h (is %s)", d)
			}
			return nil
		}},
		{"backup.keep_days", func() error { return inRange(int64(c.Backup.KeepDays), 1, 3650) }},
		{"metrics.token", func() error {
			if c.Metrics.Token != "" && len(c.Metrics.Token) < minJoinTokenLen {
				return fmt.Errorf("must be at least %d characters (a short token is guessed)", minJoinTokenLen)
			}
			return nil
		}},
		{"admin.token", func() error {
			if c.Admin.Token != "" && len(c.Admin.Token) < minJoinTokenLen {
				return fmt.Errorf("must be at least %d characters (it unlocks backups and imports)", minJoinTokenLen)
			}
			return nil
		}},
		{"admin.username", func() error {
			if store.IsReservedName(c.Admin.Username) {
				return fmt.Errorf("%q is the name of a page; choose another", c.Admin.Username)
			}
			return store.ValidateNewUsername(c.Admin.Username)
		}},
		{"admin.password", func() error {
			if c.Admin.Password != "" && len(c.Admin.Password) < httpui.MinPasswordLen {
				return fmt.Errorf("must be at least %d characters", httpui.MinPasswordLen)
			}
			return nil
		}},
		{"backup.s3.bucket", func() error {
			s3 := c.Backup.S3
			switch {
			case s3.Bucket == "" && s3.Endpoint != "":
				return fmt.Errorf("backup.s3.endpoint is set but the bucket is not")
			case s3.Bucket != "" && s3.Endpoint == "":
				return fmt.Errorf("needs backup.s3.endpoint (host[:port], e.g. fra1.digitaloceanspaces.com)")
			case s3.Bucket != "" && (s3.AccessKey == "" || s3.SecretKey == ""):
				return fmt.Errorf("needs backup.s3.access_key and backup.s3.secret_key (or MINITWIT_BACKUP_S3_ACCESS_KEY / _SECRET_KEY)")
			}
			return nil
		}},
		{"backup.s3.endpoint", func() error {
			if strings.Contains(c.Backup.S3.Endpoint, "://") {
				return fmt.Errorf("%q: give host[:port] without a scheme (backup.s3.insecure selects plain HTTP)", c.Backup.S3.Endpoint)
			}
			return nil
		}},
		{"tls.hsts_max_age", func() error {
			if time.Duration(c.TLS.HSTSMaxAge) < 0 {
				return fmt.Errorf("must not be negative")
			}
			return nil
		}},
	}
	for _, ch := range checks {
		if err := ch.check(); err != nil {
			return &Error{Key: ch.key, Source: source(ch.key), Msg: err.Error()}
		}
	}
	c.acceptedIPs, c.trustedProxies = accepted, proxies
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
