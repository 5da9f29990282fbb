package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"minitwit/store/username"
)

// key is one configuration key with everything about it: its dotted name in
// the TOML file, its flag and environment variable (if any), its default,
// its check, its one-line help, and, for a secret, the *_file key that may
// hold it instead. Everything else (Default, the env and flag overrides,
// Settings and so --help, the file's known keys, the secrets' *_file twins,
// Validate) is derived from the table that table() returns.
type key struct {
	name  string
	field func(*Config) any // a pointer to the key's field in a Config
	def   func(*Config)     // sets the field to the default

	flagName, envName, usage string
	check                    func(*Config) error
	secretFile               string // for a secret: its *_file key
}

// field declares a key whose value lives at ptr(c), with default def.
func field[T any](name string, ptr func(*Config) *T, def T) key {
	return key{
		name:  name,
		field: func(c *Config) any { return ptr(c) },
		def:   func(c *Config) { *ptr(c) = def },
	}
}

// flag makes the key settable as --name.
func (k key) flag(name string) key { k.flagName = name; return k }

// env makes the key settable by the environment variable name.
func (k key) env(name string) key { k.envName = name; return k }

// help is the line --help shows; a `quoted` word names the flag's argument.
func (k key) help(usage string) key { k.usage = usage; return k }

// checked adds the key's validation. The error message need not name the
// key: Validate does.
func (k key) checked(check func(*Config) error) key { k.check = check; return k }

// secret says the key is a secret that fileKey may name a file for.
func (k key) secret(fileKey string) key { k.secretFile = fileKey; return k }

// table lists every key, section by section in the order of
// minitwit.example.toml, which is also the order Validate checks them in.
func table() []key {
	var keys []key
	for _, section := range [][]key{
		nodeKeys(), simulatorKeys(), apiKeys(), httpKeys(), raftKeys(), logKeys(),
		metricsKeys(), alertsKeys(), tlsKeys(), backupKeys(), adminKeys(), uiKeys(),
	} {
		keys = append(keys, section...)
	}
	return keys
}

// lookup returns the key named name.
func lookup(name string) (key, bool) {
	for _, k := range table() {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

// Limits that Validate enforces.
const (
	maxNodeIDLen       = 64
	minJoinTokenLen    = 16
	maxAPIMaxNo        = 1_000_000
	minAPIMaxBodyBytes = 1024
	maxAPIMaxBodyBytes = 16 << 20
	// MinPasswordLen is the shortest password admin.password may be. The
	// web UI's password page and `minitwit admin` require the same length
	// (httpui.MinPasswordLen); it is declared here too so that this package
	// depends on no part of the project but leaf packages.
	MinPasswordLen = 10
)

func nodeKeys() []key {
	host, err := os.Hostname()
	return []key{
		field("data_dir", func(c *Config) *string { return &c.DataDir }, "./minitwit-data").
			flag("data-dir").env("MINITWIT_DATA_DIR").
			help("`dir`ectory holding everything this node stores").
			checked(func(c *Config) error { return nonEmpty(c.DataDir) }),
		field("http_addr", func(c *Config) *string { return &c.HTTPAddr }, "127.0.0.1:8080").
			flag("http-addr").env("MINITWIT_HTTP_ADDR").
			help("public listener `host:port` (empty host: all interfaces)").
			checked(func(c *Config) error { return checkHostPort(c.HTTPAddr, true) }),
		field("node_id", func(c *Config) *string { return &c.NodeID }, nodeIDFromHost(host, err)).
			flag("node-id").env("MINITWIT_NODE_ID").
			help("stable `name` of this node (default: host name)").
			checked(func(c *Config) error { return checkNodeID(c.NodeID) }),
		field("raft_addr", func(c *Config) *string { return &c.RaftAddr }, "127.0.0.1:8081").
			flag("raft-addr").env("MINITWIT_RAFT_ADDR").
			help("`host:port` other nodes reach this node's Raft and cluster traffic at (mutual TLS)").
			checked(func(c *Config) error { return checkRaftAddr(c.RaftAddr) }),
		field("join", func(c *Config) *[]string { return &c.Join }, nil).
			flag("join").env("MINITWIT_JOIN").
			help("comma-separated raft_addr `list` of existing members to join").
			checked(func(c *Config) error { return checkJoin(c.Join) }),
		field("join_token", func(c *Config) *string { return &c.JoinToken }, "").
			flag("join-token").env("MINITWIT_JOIN_TOKEN").
			help("cluster shared `secret` (prefer the environment or join_token_file)").
			secret("join_token_file").
			checked(func(c *Config) error {
				if len(c.Join) > 0 && c.JoinToken == "" {
					return fmt.Errorf("joining a cluster (join is set) needs the cluster's join token")
				}
				return checkJoinToken(c.JoinToken)
			}),
		field("join_token_file", func(c *Config) *string { return &c.JoinTokenFile }, ""),
		// Deprecated: http.trusted_proxies. Still read (Load warns); checked
		// here so that a bad value names the key it was written under.
		field("trusted_proxies", func(c *Config) *[]string { return &c.TrustedProxyIPs }, nil).
			env("MINITWIT_TRUSTED_PROXIES").
			help("deprecated name of http.trusted_proxies").
			checked(func(c *Config) error { _, err := parsePrefixes(c.TrustedProxyIPs); return err }),
	}
}

func simulatorKeys() []key {
	return []key{
		field("simulator.username", func(c *Config) *string { return &c.Simulator.Username }, "simulator").
			env("MINITWIT_SIM_USERNAME").help("simulator API user name").
			checked(func(c *Config) error { return checkUsername(c.Simulator.Username) }),
		field("simulator.password", func(c *Config) *string { return &c.Simulator.Password }, "").
			env("MINITWIT_SIM_PASSWORD").help("simulator API password").
			secret("simulator.password_file"),
		field("simulator.password_file", func(c *Config) *string { return &c.Simulator.PasswordFile }, ""),
		field("simulator.accepted_ips", func(c *Config) *[]string { return &c.Simulator.AcceptedIPs }, []string{"*"}).
			env("MINITWIT_SIM_ACCEPTED_IPS").help("comma-separated IPs or CIDRs allowed to use /api, or *").
			checked(func(c *Config) (err error) {
				c.acceptedIPs, err = parseAcceptedIPs(c.Simulator.AcceptedIPs)
				return err
			}),
	}
}

func apiKeys() []key {
	return []key{
		field("api.max_no", func(c *Config) *int { return &c.API.MaxNo }, 1000).
			env("MINITWIT_API_MAX_NO").help("largest no= an API request may ask for").
			checked(func(c *Config) error { return inRange(int64(c.API.MaxNo), 1, maxAPIMaxNo) }),
		field("api.max_body_bytes", func(c *Config) *int64 { return &c.API.MaxBodyBytes }, 64<<10).
			checked(func(c *Config) error {
				return inRange(c.API.MaxBodyBytes, minAPIMaxBodyBytes, maxAPIMaxBodyBytes)
			}),
	}
}

// Bounds of the Raft timeouts: hashicorp/raft refuses less than 5 ms (1 ms
// for the commit timeout); below 10 ms ordinary scheduling jitter would start
// elections, and beyond a minute a dead leader would go unnoticed for too
// long.
const (
	minRaftTimeout       = 10 * time.Millisecond
	maxRaftTimeout       = time.Minute
	minRaftCommitTimeout = time.Millisecond
	maxRaftCommitTimeout = time.Second
)

func raftKeys() []key {
	lan := RaftProfiles()[RaftLAN]
	timeout := func(d Duration) error { return durationIn(d, minRaftTimeout, maxRaftTimeout, "10ms", "1m") }
	return []key{
		field("raft.snapshot_threshold", func(c *Config) *uint64 { return &c.Raft.SnapshotThreshold }, 8192).
			checked(func(c *Config) error { return inRange(int64(c.Raft.SnapshotThreshold), 16, 10_000_000) }),
		field("raft.trailing_logs", func(c *Config) *uint64 { return &c.Raft.TrailingLogs }, 10240).
			checked(func(c *Config) error { return inRange(int64(c.Raft.TrailingLogs), 0, 10_000_000) }),
		field("raft.snapshot_interval", func(c *Config) *Duration { return &c.Raft.SnapshotInterval }, Duration(30*time.Second)).
			checked(func(c *Config) error {
				return durationIn(c.Raft.SnapshotInterval, 100*time.Millisecond, time.Hour, "100ms", "1h")
			}),
		field("raft.profile", func(c *Config) *string { return &c.Raft.Profile }, RaftLAN).
			env("MINITWIT_RAFT_PROFILE").help("Raft timing profile: lan (one datacenter) or wan (regions apart)").
			checked(func(c *Config) error {
				if _, ok := RaftProfiles()[c.Raft.Profile]; !ok {
					return fmt.Errorf("%q is not lan or wan", c.Raft.Profile)
				}
				return nil
			}),
		field("raft.heartbeat_timeout", func(c *Config) *Duration { return &c.Raft.HeartbeatTimeout }, Duration(lan.HeartbeatTimeout)).
			checked(func(c *Config) error { return timeout(c.Raft.HeartbeatTimeout) }),
		field("raft.election_timeout", func(c *Config) *Duration { return &c.Raft.ElectionTimeout }, Duration(lan.ElectionTimeout)).
			checked(func(c *Config) error {
				if c.Raft.ElectionTimeout < c.Raft.HeartbeatTimeout {
					return fmt.Errorf("must be at least raft.heartbeat_timeout (%s; is %s)",
						time.Duration(c.Raft.HeartbeatTimeout), time.Duration(c.Raft.ElectionTimeout))
				}
				return timeout(c.Raft.ElectionTimeout)
			}),
		field("raft.leader_lease_timeout", func(c *Config) *Duration { return &c.Raft.LeaderLeaseTimeout }, Duration(lan.LeaderLeaseTimeout)).
			checked(func(c *Config) error {
				if c.Raft.LeaderLeaseTimeout > c.Raft.HeartbeatTimeout {
					return fmt.Errorf("must be at most raft.heartbeat_timeout (%s; is %s)",
						time.Duration(c.Raft.HeartbeatTimeout), time.Duration(c.Raft.LeaderLeaseTimeout))
				}
				return timeout(c.Raft.LeaderLeaseTimeout)
			}),
		field("raft.commit_timeout", func(c *Config) *Duration { return &c.Raft.CommitTimeout }, Duration(lan.CommitTimeout)).
			checked(func(c *Config) error {
				if c.Raft.CommitTimeout > c.Raft.HeartbeatTimeout {
					return fmt.Errorf("must be at most raft.heartbeat_timeout (%s; is %s)",
						time.Duration(c.Raft.HeartbeatTimeout), time.Duration(c.Raft.CommitTimeout))
				}
				return durationIn(c.Raft.CommitTimeout, minRaftCommitTimeout, maxRaftCommitTimeout, "1ms", "1s")
			}),
	}
}

// applyRaftProfile sets each Raft timeout that no source set to the value
// of raft.profile, so that a profile chosen anywhere wins over the defaults
// (the lan profile) but never over a timeout set explicitly.
func applyRaftProfile(c *Config, isSet func(key string) bool) {
	p, ok := RaftProfiles()[c.Raft.Profile]
	if !ok {
		return // Validate names the key
	}
	for name, v := range map[string]time.Duration{
		"raft.heartbeat_timeout":    p.HeartbeatTimeout,
		"raft.election_timeout":     p.ElectionTimeout,
		"raft.leader_lease_timeout": p.LeaderLeaseTimeout,
		"raft.commit_timeout":       p.CommitTimeout,
	} {
		if !isSet(name) {
			k, _ := lookup(name)
			*k.field(c).(*Duration) = Duration(v)
		}
	}
}

func logKeys() []key {
	return []key{
		field("log.level", func(c *Config) *string { return &c.Log.Level }, "info").
			flag("log-level").env("MINITWIT_LOG_LEVEL").help("`level`: debug, info, warn or error").
			checked(func(c *Config) error { return checkLevel(c.Log.Level) }),
		field("log.format", func(c *Config) *string { return &c.Log.Format }, "auto").
			flag("log-format").env("MINITWIT_LOG_FORMAT").
			help("`format` of the lines on stdout: auto (text on a terminal, else JSON), json or text").
			checked(func(c *Config) error {
				switch c.Log.Format {
				case "auto", "json", "text":
					return nil
				}
				return fmt.Errorf("%q must be one of auto, json, text", c.Log.Format)
			}),
		field("log.file", func(c *Config) *string { return &c.Log.File }, "").
			env("MINITWIT_LOG_FILE").help("also write logs to this file, rotated (log.max_size_mb, log.max_files)"),
		field("log.max_size_mb", func(c *Config) *int { return &c.Log.MaxSizeMB }, 100).
			checked(func(c *Config) error { return inRange(int64(c.Log.MaxSizeMB), 1, 100_000) }),
		field("log.max_files", func(c *Config) *int { return &c.Log.MaxFiles }, 5).
			checked(func(c *Config) error { return inRange(int64(c.Log.MaxFiles), 0, 1000) }),
	}
}

func httpKeys() []key {
	return []key{
		field("http.max_connections", func(c *Config) *int { return &c.HTTP.MaxConnections }, 1000).
			checked(func(c *Config) error { return inRange(int64(c.HTTP.MaxConnections), 16, 1_000_000) }),
		field("http.idle_timeout", func(c *Config) *Duration { return &c.HTTP.IdleTimeout }, Duration(60*time.Second)).
			checked(func(c *Config) error {
				if d := time.Duration(c.HTTP.IdleTimeout); d < time.Second || d > time.Hour {
					return fmt.Errorf("must be from 1s to 1h (is %s)", d)
				}
				return nil
			}),
		field("http.request_timeout", func(c *Config) *Duration { return &c.HTTP.RequestTimeout }, Duration(10*time.Second)).
			checked(func(c *Config) error {
				if d := time.Duration(c.HTTP.RequestTimeout); d < time.Second || d > 10*time.Minute {
					return fmt.Errorf("must be from 1s to 10m (is %s)", d)
				}
				return nil
			}),
		field("http.trusted_proxies", func(c *Config) *[]string { return &c.HTTP.TrustedProxies }, nil).
			env("MINITWIT_HTTP_TRUSTED_PROXIES").
			help("comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed").
			checked(func(c *Config) (err error) {
				list := c.HTTP.TrustedProxies
				switch {
				case len(c.TrustedProxyIPs) > 0 && len(list) > 0 && !slices.Equal(c.TrustedProxyIPs, list):
					return fmt.Errorf("set both here and under the deprecated trusted_proxies, to different lists; keep only http.trusted_proxies")
				case len(list) == 0:
					list = c.TrustedProxyIPs
				}
				c.trustedProxies, err = parsePrefixes(list)
				return err
			}),
	}
}

func uiKeys() []key {
	return []key{
		// Off, the node draws identicons itself (no third party sees who
		// reads which timeline).
		field("ui.gravatar", func(c *Config) *bool { return &c.UI.Gravatar }, false),
	}
}

func metricsKeys() []key {
	return []key{
		field("metrics.token", func(c *Config) *string { return &c.Metrics.Token }, "").
			env("MINITWIT_METRICS_TOKEN").help("bearer token that may read /metrics").
			secret("metrics.token_file").
			checked(func(c *Config) error {
				if c.Metrics.Token != "" && len(c.Metrics.Token) < minJoinTokenLen {
					return fmt.Errorf("must be at least %d characters (a short token is guessed)", minJoinTokenLen)
				}
				return nil
			}),
		field("metrics.token_file", func(c *Config) *string { return &c.Metrics.TokenFile }, ""),
	}
}

func alertsKeys() []key {
	return []key{
		field("alerts.interval", func(c *Config) *Duration { return &c.Alerts.Interval }, Duration(30*time.Second)).
			checked(func(c *Config) error {
				return durationIn(c.Alerts.Interval, time.Second, time.Hour, "1s", "1h")
			}),
		// A Slack or Discord webhook URL is a secret itself: it may come
		// from a file or the environment.
		field("alerts.webhook_url", func(c *Config) *string { return &c.Alerts.WebhookURL }, "").
			env("MINITWIT_ALERTS_WEBHOOK_URL").help("http(s) URL that receives alert notices (none: alerts show on /admin and in the log only)").
			secret("alerts.webhook_url_file").
			checked(func(c *Config) error { return checkWebhookURL(c.Alerts.WebhookURL) }),
		field("alerts.webhook_url_file", func(c *Config) *string { return &c.Alerts.WebhookURLFile }, ""),
		field("alerts.webhook_format", func(c *Config) *string { return &c.Alerts.WebhookFormat }, WebhookJSON).
			env("MINITWIT_ALERTS_WEBHOOK_FORMAT").help("alert notice body: json, or slack ({\"text\": ...}; Slack, Discord's /slack URLs)").
			checked(func(c *Config) error {
				switch c.Alerts.WebhookFormat {
				case WebhookJSON, WebhookSlack:
					return nil
				}
				return fmt.Errorf("%q is not json or slack", c.Alerts.WebhookFormat)
			}),
		field("alerts.webhook_token", func(c *Config) *string { return &c.Alerts.WebhookToken }, "").
			env("MINITWIT_ALERTS_WEBHOOK_TOKEN").help("bearer token sent to the alert webhook").
			secret("alerts.webhook_token_file"),
		field("alerts.webhook_token_file", func(c *Config) *string { return &c.Alerts.WebhookTokenFile }, ""),
	}
}

// checkWebhookURL accepts an absolute http or https URL with a host, or
// nothing.
func checkWebhookURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL (%v)", errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must start with https:// or http:// (scheme %q)", u.Scheme)
	case u.Host == "":
		return fmt.Errorf("has no host")
	}
	return nil
}

func tlsKeys() []key {
	return []key{
		field("tls.mode", func(c *Config) *string { return &c.TLS.Mode }, "").
			flag("tls").env("MINITWIT_TLS").
			help("public listener `mode`: off, self-signed or acme (default: acme when a domain is set, else off)").
			checked(func(c *Config) error {
				switch c.TLS.Mode {
				case "", TLSOff, TLSSelfSigned, TLSACME:
					return nil
				}
				return fmt.Errorf("%q is not off, self-signed or acme", c.TLS.Mode)
			}),
		field("tls.domain", func(c *Config) *string { return &c.TLS.Domain }, "").
			flag("domain").env("MINITWIT_DOMAIN").help("public DNS `name`; turns on automatic certificates").
			checked(func(c *Config) error {
				d := c.TLS.Domain
				switch {
				case c.TLSMode() == TLSACME && d == "":
					return fmt.Errorf("tls.mode acme needs the public DNS name the certificate is for")
				case d != "" && (!validHost(d) || net.ParseIP(d) != nil || strings.Contains(d, "_")):
					return fmt.Errorf("%q is not a DNS name", d)
				}
				return nil
			}),
		field("tls.acme_ca", func(c *Config) *string { return &c.TLS.ACMECA }, LetsEncryptDirectory).
			env("MINITWIT_ACME_CA").help("ACME directory URL").
			checked(func(c *Config) error {
				if c.TLSMode() == TLSACME && !strings.HasPrefix(c.TLS.ACMECA, "https://") {
					return fmt.Errorf("%q is not an https:// ACME directory URL", c.TLS.ACMECA)
				}
				return nil
			}),
		field("tls.email", func(c *Config) *string { return &c.TLS.Email }, "").
			env("MINITWIT_ACME_EMAIL").help("contact e-mail for the ACME account").
			checked(func(c *Config) error {
				if e := c.TLS.Email; e != "" && (!strings.Contains(e, "@") || strings.ContainsAny(e, " \t\n")) {
					return fmt.Errorf("%q is not an e-mail address", e)
				}
				return nil
			}),
		field("tls.ca_bundle", func(c *Config) *string { return &c.TLS.CABundle }, "").
			checked(func(c *Config) error {
				if c.TLS.CABundle == "" {
					return nil
				}
				_, err := os.Stat(c.TLS.CABundle)
				return err
			}),
		field("tls.redirect_addr", func(c *Config) *string { return &c.TLS.RedirectAddr }, "").
			checked(func(c *Config) error {
				switch {
				case c.TLS.RedirectAddr == "":
					return nil
				case c.TLSMode() == TLSOff:
					return fmt.Errorf("redirects to HTTPS need tls.mode self-signed or acme")
				}
				return checkHostPort(c.TLS.RedirectAddr, true)
			}),
		field("tls.hsts_max_age", func(c *Config) *Duration { return &c.TLS.HSTSMaxAge }, Duration(365*24*time.Hour)).
			checked(func(c *Config) error {
				if c.TLS.HSTSMaxAge < 0 {
					return fmt.Errorf("must not be negative")
				}
				return nil
			}),
	}
}

func backupKeys() []key {
	return []key{
		field("backup.interval", func(c *Config) *Duration { return &c.Backup.Interval }, Duration(3*time.Hour)).
			checked(func(c *Config) error {
				return durationIn(c.Backup.Interval, time.Second, 30*24*time.Hour, "1s", "720h")
			}),
		field("backup.keep_days", func(c *Config) *int { return &c.Backup.KeepDays }, 7).
			checked(func(c *Config) error { return inRange(int64(c.Backup.KeepDays), 1, 3650) }),
		field("backup.dir", func(c *Config) *string { return &c.Backup.Dir }, "").
			env("MINITWIT_BACKUP_DIR").help("folder for scheduled backups"),
		field("backup.encryption_key_file", func(c *Config) *string { return &c.Backup.EncryptionKeyFile }, "").
			env("MINITWIT_BACKUP_ENCRYPTION_KEY_FILE").
			help("age identity file (minitwit backup keygen FILE): every backup is encrypted to it; keep it outside data_dir").
			checked(func(c *Config) error { return checkKeyFile(c.Backup.EncryptionKeyFile, c.DataDir) }),
		field("backup.s3.endpoint", func(c *Config) *string { return &c.Backup.S3.Endpoint }, "").
			checked(func(c *Config) error {
				if strings.Contains(c.Backup.S3.Endpoint, "://") {
					return fmt.Errorf("%q: give host[:port] without a scheme (backup.s3.insecure selects plain HTTP)", c.Backup.S3.Endpoint)
				}
				return nil
			}),
		field("backup.s3.bucket", func(c *Config) *string { return &c.Backup.S3.Bucket }, "").
			checked(func(c *Config) error {
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
			}),
		field("backup.s3.prefix", func(c *Config) *string { return &c.Backup.S3.Prefix }, "minitwit/"),
		field("backup.s3.region", func(c *Config) *string { return &c.Backup.S3.Region }, "us-east-1"),
		field("backup.s3.access_key", func(c *Config) *string { return &c.Backup.S3.AccessKey }, "").
			env("MINITWIT_BACKUP_S3_ACCESS_KEY").help("S3 access key for scheduled backups"),
		field("backup.s3.secret_key", func(c *Config) *string { return &c.Backup.S3.SecretKey }, "").
			env("MINITWIT_BACKUP_S3_SECRET_KEY").help("S3 secret key for scheduled backups").
			secret("backup.s3.secret_key_file"),
		field("backup.s3.secret_key_file", func(c *Config) *string { return &c.Backup.S3.SecretKeyFile }, ""),
		field("backup.s3.insecure", func(c *Config) *bool { return &c.Backup.S3.Insecure }, false),
	}
}

// checkKeyFile wants the backup key to exist and to live outside the data
// dir: a key lost with the data dir leaves its backups unreadable just when
// they are needed. Whether the file is a key, the node and the CLI check
// when they load it (config depends on no crypto).
func checkKeyFile(path, dataDir string) error {
	if path == "" {
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w (make one with `minitwit backup keygen FILE`)", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file", path)
	}
	key, err1 := filepath.Abs(path)
	dir, err2 := filepath.Abs(dataDir)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(dir, key); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s is inside data_dir: keep the key apart from what it protects", path)
		}
	}
	return nil
}

func adminKeys() []key {
	return []key{
		field("admin.token", func(c *Config) *string { return &c.Admin.Token }, "").
			env("MINITWIT_ADMIN_TOKEN").help("bearer token of the remote admin endpoints (backups and imports over HTTP)").
			secret("admin.token_file").
			checked(func(c *Config) error {
				if c.Admin.Token != "" && len(c.Admin.Token) < minJoinTokenLen {
					return fmt.Errorf("must be at least %d characters (it unlocks backups and imports)", minJoinTokenLen)
				}
				return nil
			}),
		field("admin.token_file", func(c *Config) *string { return &c.Admin.TokenFile }, ""),
		field("admin.username", func(c *Config) *string { return &c.Admin.Username }, "operator").
			env("MINITWIT_ADMIN_USERNAME").help("name of the first admin user, created on a new cluster's first start").
			checked(func(c *Config) error {
				if err := username.Check(c.Admin.Username); err != nil {
					return err
				}
				if username.IsReserved(c.Admin.Username) {
					return fmt.Errorf("%q is the name of a page; choose another", c.Admin.Username)
				}
				return nil
			}),
		field("admin.password", func(c *Config) *string { return &c.Admin.Password }, "").
			env("MINITWIT_ADMIN_PASSWORD").help("the first admin's password (default: a one-time password printed once on the console, never logged)").
			secret("admin.password_file").
			checked(func(c *Config) error {
				if c.Admin.Password != "" && len(c.Admin.Password) < MinPasswordLen {
					return fmt.Errorf("must be at least %d characters", MinPasswordLen)
				}
				return nil
			}),
		field("admin.password_file", func(c *Config) *string { return &c.Admin.PasswordFile }, ""),
		field("admin.require_2fa", func(c *Config) *bool { return &c.Admin.Require2FA }, false).
			env("MINITWIT_ADMIN_REQUIRE_2FA").help("true: an admin without a second factor (TOTP) must enroll one before using /admin"),
	}
}

// set stores a raw string from a flag or environment variable in k's field,
// parsed by the field's type. Lists are comma-separated because that is
// what fits in one variable.
func (k key) set(c *Config, raw string) error {
	switch p := k.field(c).(type) {
	case *string:
		*p = raw
	case *[]string:
		*p = splitList(raw)
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		*p = n
	case *uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number from 0 up", raw)
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		*p = b
	case *Duration:
		return p.UnmarshalText([]byte(strings.TrimSpace(raw)))
	default:
		// Only reachable if the table gains a field type this switch
		// lacks; TestEveryKeyParses checks that it cannot.
		return fmt.Errorf("cannot be set from outside the file")
	}
	return nil
}
