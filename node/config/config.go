// Package config owns the node's configuration: defaults, the TOML file, MINITWIT_*
// environment variables and command-line flags, their precedence, and
// validation that names the offending key.
//
// The names are a contract (../shared/spec/cli-and-config.md) and
// minitwit.example.toml at the repository root documents every key; a test
// loads it, so it cannot drift from this package. Settings is the one table
// of flags and variables; the command line registers its flags from it.
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
	"os"
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
	// Join lists raft_addr values of existing members. Clustering arrives
	// with the cluster issue; today a node with an empty data dir and a
	// non-empty Join refuses to start with a clear message, and a node with
	// existing state ignores Join with a log line.
	Join          []string `toml:"join"`
	JoinToken     string   `toml:"join_token"`
	JoinTokenFile string   `toml:"join_token_file"`
	// TrustedProxyIPs (IPs or CIDRs) are the peers whose X-Forwarded-For
	// header is believed when deciding a client's IP. Empty: the header is
	// never believed. Named apart from the key because the TrustedProxies
	// method returns the parsed form.
	TrustedProxyIPs []string `toml:"trusted_proxies"`

	Simulator SimulatorConfig `toml:"simulator"`
	API       APIConfig       `toml:"api"`
	Raft      RaftConfig      `toml:"raft"`
	Log       LogConfig       `toml:"log"`
	Metrics   MetricsConfig   `toml:"metrics"`
	TLS       TLSConfig       `toml:"tls"`
	Backup    BackupConfig    `toml:"backup"`
	Admin     AdminConfig     `toml:"admin"`
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

// RaftConfig tunes log compaction. A snapshot is taken once this many
// entries were applied since the last one, and that many entries are kept
// behind it, so a follower that fell a little behind catches up from the
// log instead of receiving a whole snapshot.
type RaftConfig struct {
	SnapshotThreshold uint64 `toml:"snapshot_threshold"`
	TrailingLogs      uint64 `toml:"trailing_logs"`
	// SnapshotInterval is how often the threshold is checked.
	SnapshotInterval Duration `toml:"snapshot_interval"`
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
// once (more wait in the kernel's queue, unaccepted) and how long an idle
// keep-alive connection is kept.
type HTTPConfig struct {
	MaxConnections int      `toml:"max_connections"`
	IdleTimeout    Duration `toml:"idle_timeout"`
}

// APIConfig bounds what one API request may ask for.
type APIConfig struct {
	MaxNo        int   `toml:"max_no"`
	MaxBodyBytes int64 `toml:"max_body_bytes"`
}

// LogConfig selects what is logged.
type LogConfig struct {
	Level string `toml:"level"`
	// File, if set, also receives every log line, rotated at MaxSizeMB
	// with MaxFiles old files kept: a bounded footprint on disk.
	File      string `toml:"file"`
	MaxSizeMB int    `toml:"max_size_mb"`
	MaxFiles  int    `toml:"max_files"`
}

// MetricsConfig guards /metrics.
type MetricsConfig struct {
	Token     string `toml:"token"`
	TokenFile string `toml:"token_file"`
}

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
}

// BackupConfig schedules backups. They run on the leader, every Interval,
// into Dir and/or an S3 bucket, and are kept KeepDays days; with neither
// Dir nor S3.Bucket set, there are no scheduled backups.
type BackupConfig struct {
	Interval Duration `toml:"interval"`
	KeepDays int      `toml:"keep_days"`
	Dir      string   `toml:"dir"`
	S3       S3Config `toml:"s3"`
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

// Default returns the configuration a node runs with when nothing is set.
// Secrets are empty: see SimulatorPassword for the simulator's fallback.
func Default() Config {
	host, err := os.Hostname()
	return Config{
		DataDir:  "./minitwit-data",
		HTTPAddr: "127.0.0.1:8080",
		NodeID:   nodeIDFromHost(host, err),
		RaftAddr: "127.0.0.1:8081",
		Simulator: SimulatorConfig{
			Username:    "simulator",
			AcceptedIPs: []string{"*"},
		},
		API: APIConfig{
			MaxNo:        1000,
			MaxBodyBytes: 64 << 10,
		},
		Raft:  RaftConfig{SnapshotThreshold: 8192, TrailingLogs: 10240, SnapshotInterval: Duration(30 * time.Second)},
		Log:   LogConfig{Level: "info", MaxSizeMB: 100, MaxFiles: 5},
		TLS:   TLSConfig{ACMECA: LetsEncryptDirectory, HSTSMaxAge: Duration(365 * 24 * time.Hour)},
		Admin: AdminConfig{Username: "operator"},
		HTTP:  HTTPConfig{MaxConnections: 1000, IdleTimeout: Duration(60 * time.Second)},
		Backup: BackupConfig{Interval: Duration(3 * time.Hour), KeepDays: 7,
			S3: S3Config{Prefix: "minitwit/", Region: "us-east-1"}},
	}
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

// TrustedProxies returns the peers whose X-Forwarded-For is believed, a bare
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
