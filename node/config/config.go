// Package config owns the node's configuration: defaults, the TOML file, MINITWIT_*
// environment variables and command-line flags, their precedence, and
// validation that names the offending key.
//
// The names are a contract (../shared/spec/cli-and-config.md) and
// minitwit.example.toml at the repository root documents every key; a test
// loads it, so it cannot drift from this package.
//
// Each key is declared once, in the table in keys.go: its name, flag,
// environment variable, default, check and help line. Default, the
// environment and flag overrides, Settings (from which the command line
// registers its flags and prints --help), the set of keys the file may hold,
// the secrets' *_file twins and Validate are all derived from it. The struct
// tags below are what the TOML decoder reads; a test checks that they and
// the table name the same keys for the same fields.
//
// The package depends on no other part of the project except the leaf
// package store/username, so that the rules for admin.username are the
// store's own.
//
// Choices made where the spec is silent:
//
//   - File keys match exactly. The TOML library would also accept a key that
//     differs only in case; Load refuses it like any other unknown key.
//   - An environment variable set to the empty string counts as unset, since
//     templates often leave variables present but empty. An explicitly set
//     flag counts even when empty (--join= empties the list; --config= reads
//     no file even if MINITWIT_CONFIG names one).
//   - Lists from flags and variables are comma-separated; blanks around
//     items are trimmed and empty items dropped.
//   - A *_file path is read relative to the config file's directory, and its
//     content is trimmed. A file that holds both a secret and its *_file is
//     refused even when the environment overrides the secret: the file alone
//     must make sense.
//   - Validate reports the first problem, checking keys in the order of the
//     example file, so the operator gets one line to fix at a time.
//   - log.level ignores case. simulator.accepted_ips may not be empty: nil
//     from AcceptedIPs means everyone, and an empty list that silently
//     closed the simulator API would be a trap.
//   - The default node_id is the host name cut to 64 characters, so that the
//     default always validates.
//   - Unknown MINITWIT_* variables are warnings, with a "did you mean" for a
//     near miss; that is why Load takes the environment as a list of
//     "NAME=value" entries rather than a lookup function.
//   - Error messages never quote a secret's value.
package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// DefaultSimulatorPassword is the course simulator's password, used when none
// is configured. It is public, so a node using it warns at start-up.
const DefaultSimulatorPassword = "super_safe!"

// Config is everything a node is started with. It is filled from defaults,
// then the TOML file, then MINITWIT_* environment variables, then flags
// (later sources win), and then validated. See Load.
type Config struct {
	DataDir  string `toml:"data_dir"`
	HTTPAddr string `toml:"http_addr"`
	NodeID   string `toml:"node_id"`
	RaftAddr string `toml:"raft_addr"`
	// Join lists raft_addr values of existing members to join when the
	// data dir is empty; a node with existing state ignores it with a log
	// line.
	Join          []string `toml:"join"`
	JoinToken     string   `toml:"join_token"`
	JoinTokenFile string   `toml:"join_token_file"`
	// TrustedProxyIPs is the deprecated top-level trusted_proxies key, an
	// alias of HTTP.TrustedProxies kept so that existing files and
	// MINITWIT_TRUSTED_PROXIES go on working (Load warns).
	TrustedProxyIPs []string `toml:"trusted_proxies"`

	Simulator SimulatorConfig `toml:"simulator"`
	API       APIConfig       `toml:"api"`
	Raft      RaftConfig      `toml:"raft"`
	Log       LogConfig       `toml:"log"`
	Metrics   MetricsConfig   `toml:"metrics"`
	Alerts    AlertsConfig    `toml:"alerts"`
	TLS       TLSConfig       `toml:"tls"`
	Backup    BackupConfig    `toml:"backup"`
	Admin     AdminConfig     `toml:"admin"`
	UI        UIConfig        `toml:"ui"`
	HTTP      HTTPConfig      `toml:"http"`

	// Parsed forms, filled by Validate.
	trustedProxies []netip.Prefix
	acceptedIPs    []netip.Prefix // nil means every address
}

// SimulatorConfig holds the simulator API's credentials and allow-list.
type SimulatorConfig struct {
	Username     string   `toml:"username"`
	Password     string   `toml:"password"`
	PasswordFile string   `toml:"password_file"`
	AcceptedIPs  []string `toml:"accepted_ips"`
}

// RaftConfig tunes log compaction and Raft's timing. A snapshot is taken
// once SnapshotThreshold entries were applied since the last one, and
// TrailingLogs entries are kept behind it, so a follower that fell a little
// behind catches up from the log instead of receiving a whole snapshot.
type RaftConfig struct {
	SnapshotThreshold uint64 `toml:"snapshot_threshold"`
	TrailingLogs      uint64 `toml:"trailing_logs"`
	// SnapshotInterval is how often the threshold is checked.
	SnapshotInterval Duration `toml:"snapshot_interval"`

	// Profile names a set of timeouts (RaftProfiles); Load fills each
	// timeout that no source set from it.
	Profile string `toml:"profile"`
	// HeartbeatTimeout: a follower that hears nothing from the leader for
	// this long (randomised up to twice) becomes a candidate.
	HeartbeatTimeout Duration `toml:"heartbeat_timeout"`
	// ElectionTimeout: a candidate that wins no election in this long
	// (randomised up to twice) starts another.
	ElectionTimeout Duration `toml:"election_timeout"`
	// LeaderLeaseTimeout: a leader that cannot reach a quorum for this
	// long steps down, so a leader cut off from the others stops
	// acknowledging writes.
	LeaderLeaseTimeout Duration `toml:"leader_lease_timeout"`
	// CommitTimeout: with no new writes, the leader tells followers the
	// commit index after this long, which bounds how long a follower's
	// read waits for a write it is told about.
	CommitTimeout Duration `toml:"commit_timeout"`
}

// RaftTiming is the part of RaftConfig that every member should share.
type RaftTiming struct {
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout, CommitTimeout time.Duration
}

// Timing returns the configured timeouts.
func (r RaftConfig) Timing() RaftTiming {
	return RaftTiming{time.Duration(r.HeartbeatTimeout), time.Duration(r.ElectionTimeout),
		time.Duration(r.LeaderLeaseTimeout), time.Duration(r.CommitTimeout)}
}

// String writes the timing compactly, for logs and status lines.
func (t RaftTiming) String() string {
	return fmt.Sprintf("heartbeat %s, election %s, lease %s, commit %s",
		t.HeartbeatTimeout, t.ElectionTimeout, t.LeaderLeaseTimeout, t.CommitTimeout)
}

// Raft timing profiles.
const (
	RaftLAN = "lan"
	RaftWAN = "wan"
)

// RaftProfiles are the timings raft.profile selects.
//
// lan is for nodes on one LAN or in one datacenter (round trips well under
// a millisecond): a follower that hears nothing from the leader for
// 50-100 ms starts an election, so a killed leader is replaced in about
// 100-200 ms (docs/benchmarks.md), short enough that requests waiting for
// the new leader still finish inside the simulator's 0.3 s budget; the
// lease lets a leader cut off from its quorum step down within 50 ms; and
// with writes paused the leader sends the commit index after 2 ms. The
// price is a few hundred small messages a second per follower while idle.
//
// wan is for members in different regions, or VMs that may pause for a few
// hundred milliseconds: round trips of 50-100 ms and such pauses must not
// start elections, at the price of a failover of a few seconds. Measured
// (node/nemesis_test.go, cmd/minitwit/pause_e2e_test.go; docs/benchmarks.md):
// 50 ms ± 20 ms on every link for 60 s of steady writes started no
// election, and a leader paused for 300 ms kept leading, so the values
// stay; shorter ones would buy a faster failover with less room for
// pauses, and 1 s is already 10 round trips at the worst latency.
func RaftProfiles() map[string]RaftTiming {
	return map[string]RaftTiming{
		RaftLAN: {HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond,
			LeaderLeaseTimeout: 50 * time.Millisecond, CommitTimeout: 2 * time.Millisecond},
		RaftWAN: {HeartbeatTimeout: time.Second, ElectionTimeout: time.Second,
			LeaderLeaseTimeout: 500 * time.Millisecond, CommitTimeout: 50 * time.Millisecond},
	}
}

// Duration is a time.Duration written as in Go ("30s", "2m").
type Duration time.Duration

// UnmarshalText parses a duration string from the TOML file.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like \"30s\" or \"2m\"", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration back in the same form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// HTTPConfig bounds the public listener: how many connections it holds at
// once (more wait in the kernel's queue, unaccepted), how long an idle
// keep-alive connection is kept, and how long a request may wait for Raft
// or a password-hashing slot (a write runs to this deadline even when its
// client has left).
type HTTPConfig struct {
	MaxConnections int      `toml:"max_connections"`
	IdleTimeout    Duration `toml:"idle_timeout"`
	RequestTimeout Duration `toml:"request_timeout"`
	// TrustedProxies (IPs or CIDRs) are the peers whose X-Forwarded-For
	// and X-Forwarded-Proto are believed; the TrustedProxies method of
	// Config returns them parsed. Empty: the headers are never believed.
	TrustedProxies []string `toml:"trusted_proxies"`
}

// APIConfig bounds what one API request may ask for.
type APIConfig struct {
	MaxNo        int   `toml:"max_no"`
	MaxBodyBytes int64 `toml:"max_body_bytes"`
}

// LogConfig selects what is logged.
type LogConfig struct {
	Level string `toml:"level"`
	// Format of the lines on stdout: auto, json or text (ops.ResolveLogFormat).
	// The file and the admin page's log view always get JSON lines.
	Format string `toml:"format"`
	// File, if set, also receives every log line, rotated at MaxSizeMB
	// with MaxFiles old files kept: a bounded footprint on disk.
	File      string `toml:"file"`
	MaxSizeMB int    `toml:"max_size_mb"`
	MaxFiles  int    `toml:"max_files"`
}

// UIConfig tunes the web UI.
type UIConfig struct {
	// Gravatar links avatars to gravatar.com; off, the node draws
	// identicons itself (no third party sees who reads which timeline).
	Gravatar bool `toml:"gravatar"`
}

// MetricsConfig guards /metrics.
type MetricsConfig struct {
	Token     string `toml:"token"`
	TokenFile string `toml:"token_file"`
}

// AlertsConfig is the in-node alerting (ops/alerting): how often the
// leader evaluates deploy/alerts.yml's conditions and the webhook that
// receives firing and resolve notices (none: the admin page and the log
// only).
type AlertsConfig struct {
	Interval         Duration `toml:"interval"`
	WebhookURL       string   `toml:"webhook_url"`
	WebhookURLFile   string   `toml:"webhook_url_file"`
	WebhookFormat    string   `toml:"webhook_format"`
	WebhookToken     string   `toml:"webhook_token"`
	WebhookTokenFile string   `toml:"webhook_token_file"`
}

// Webhook formats (alerts.webhook_format).
const (
	WebhookJSON  = "json"
	WebhookSlack = "slack"
)

// TLS modes for the public listener.
const (
	TLSOff        = "off"
	TLSSelfSigned = "self-signed"
	TLSACME       = "acme"
)

// TLSConfig selects how the public listener speaks TLS. Mode "" means
// "acme" when Domain is set and "off" otherwise (see TLSMode).
type TLSConfig struct {
	Mode   string `toml:"mode"`
	Domain string `toml:"domain"`
	// ACMECA is the ACME directory URL; empty means Let's Encrypt
	// production.
	ACMECA string `toml:"acme_ca"`
	Email  string `toml:"email"`
	// CABundle is a PEM file of root certificates to trust for the ACME
	// server's own HTTPS (a private ACME server); empty means the system's.
	CABundle string `toml:"ca_bundle"`
	// RedirectAddr is the plain-HTTP listener that answers ACME HTTP-01
	// challenges and redirects everything else to HTTPS with 308: ":80" in
	// acme mode, none otherwise unless set.
	RedirectAddr string `toml:"redirect_addr"`
	// HSTSMaxAge is the Strict-Transport-Security max-age sent on HTTPS
	// answers in acme mode; 0 sends none.
	HSTSMaxAge Duration `toml:"hsts_max_age"`
}

// AdminConfig guards the remote admin endpoints (backups and imports over
// HTTP, for `minitwit backup --url` and `minitwit import --url`) and names
// the first admin user, whom a new cluster creates on its first start.
type AdminConfig struct {
	Token     string `toml:"token"`
	TokenFile string `toml:"token_file"`
	// Username and Password of the first admin. Without a password a
	// one-time password is generated, printed once on the console (never
	// logged), and must be
	// changed at the first sign-in.
	Username     string `toml:"username"`
	Password     string `toml:"password"`
	PasswordFile string `toml:"password_file"`
	// Require2FA sends an admin without a second factor (TOTP) to enroll
	// one before any other admin page.
	Require2FA bool `toml:"require_2fa"`
}

// BackupConfig schedules backups. They run on the leader, every Interval,
// into Dir and/or an S3 bucket, and are kept KeepDays days; with neither
// Dir nor S3.Bucket set, there are no scheduled backups.
type BackupConfig struct {
	Interval Duration `toml:"interval"`
	KeepDays int      `toml:"keep_days"`
	Dir      string   `toml:"dir"`
	// EncryptionKeyFile names an age identity file; when set, every backup
	// is encrypted to it (ops/backup's encrypt.go). Kept outside DataDir.
	EncryptionKeyFile string   `toml:"encryption_key_file"`
	S3                S3Config `toml:"s3"`
}

// S3Config locates an S3-compatible bucket.
type S3Config struct {
	Endpoint      string `toml:"endpoint"`
	Bucket        string `toml:"bucket"`
	Prefix        string `toml:"prefix"`
	Region        string `toml:"region"`
	AccessKey     string `toml:"access_key"`
	SecretKey     string `toml:"secret_key"`
	SecretKeyFile string `toml:"secret_key_file"`
	Insecure      bool   `toml:"insecure"`
}

// LetsEncryptDirectory is the default ACME directory.
const LetsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// TLSMode is the effective mode: the configured one, or "acme" when a
// domain is set and "off" when not.
func (c Config) TLSMode() string {
	switch {
	case c.TLS.Mode != "":
		return c.TLS.Mode
	case c.TLS.Domain != "":
		return TLSACME
	}
	return TLSOff
}

// Default returns the configuration a node runs with when nothing is set,
// from the defaults in the key table. Secrets are empty: see
// SimulatorPassword for the simulator's fallback.
func Default() Config {
	var c Config
	for _, k := range table() {
		k.def(&c)
	}
	return c
}

// nodeIDFromHost turns a host name into a valid node_id: lower case, every
// character outside [a-z0-9._-] replaced by '-', at most 64 characters.
func nodeIDFromHost(host string, err error) string {
	const fallback = "node1"
	if err != nil {
		return fallback
	}
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(host))
	// After the mapping every character is one byte, so this cuts no rune.
	id = id[:min(len(id), maxNodeIDLen)]
	if id == "" {
		return fallback
	}
	return id
}

// SimulatorPassword returns the password the simulator API accepts, and
// whether it is the course's public default.
func (c Config) SimulatorPassword() (password string, isDefault bool) {
	if c.Simulator.Password == "" {
		return DefaultSimulatorPassword, true
	}
	return c.Simulator.Password, false
}

// AcceptedIPs returns the prefixes allowed to use the simulator API; nil
// means every address. Filled by Validate (and so by Load).
func (c Config) AcceptedIPs() []netip.Prefix { return slices.Clone(c.acceptedIPs) }

// TrustedProxies returns the peers whose X-Forwarded-For and
// X-Forwarded-Proto are believed (http.trusted_proxies, or the deprecated
// trusted_proxies), a bare
// IP as a /32 or /128 prefix. Filled by Validate (and so by Load).
func (c Config) TrustedProxies() []netip.Prefix { return slices.Clone(c.trustedProxies) }

// SlogLevel returns log.level for log/slog; a level Validate would refuse
// reads as info.
func (c Config) SlogLevel() slog.Level {
	if l, ok := parseLevel(c.Log.Level); ok {
		return l
	}
	return slog.LevelInfo
}

func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}
