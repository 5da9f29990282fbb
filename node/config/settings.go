package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Setting is one key that can be set from outside the file: by a command-line
// flag, an environment variable, or both. An empty Flag or Env means that
// route does not exist for the key.
type Setting struct {
	Key   string // dotted TOML key; empty only for the config-file selector
	Flag  string // flag name without dashes
	Env   string // environment variable
	Usage string // one line for --help; a `quoted` word names the flag's argument
}

// configFlag and configEnv select the TOML file. They have no key because
// the file cannot name itself.
const (
	configFlag = "config"
	configEnv  = "MINITWIT_CONFIG"
	envPrefix  = "MINITWIT_"
)

// Settings lists every key reachable by flag or environment, the config-file
// selector first. The command line registers one flag per entry with a
// non-empty Flag. It returns a new slice on each call, so callers may modify it.
func Settings() []Setting {
	return []Setting{
		{Flag: configFlag, Env: configEnv, Usage: "read configuration from TOML `file` (see minitwit.example.toml)"},
		{Key: "data_dir", Flag: "data-dir", Env: "MINITWIT_DATA_DIR", Usage: "`dir`ectory holding everything this node stores"},
		{Key: "http_addr", Flag: "http-addr", Env: "MINITWIT_HTTP_ADDR", Usage: "public listener `host:port` (empty host: all interfaces)"},
		{Key: "node_id", Flag: "node-id", Env: "MINITWIT_NODE_ID", Usage: "stable `name` of this node (default: host name)"},
		{Key: "raft_addr", Flag: "raft-addr", Env: "MINITWIT_RAFT_ADDR", Usage: "`host:port` other nodes reach this node's Raft and cluster traffic at (mutual TLS)"},
		{Key: "join", Flag: "join", Env: "MINITWIT_JOIN", Usage: "comma-separated raft_addr `list` of existing members to join"},
		{Key: "join_token", Flag: "join-token", Env: "MINITWIT_JOIN_TOKEN", Usage: "cluster shared `secret` (prefer the environment or join_token_file)"},
		{Key: "simulator.username", Env: "MINITWIT_SIM_USERNAME", Usage: "simulator API user name"},
		{Key: "simulator.password", Env: "MINITWIT_SIM_PASSWORD", Usage: "simulator API password"},
		{Key: "simulator.accepted_ips", Env: "MINITWIT_SIM_ACCEPTED_IPS", Usage: "comma-separated IPs or CIDRs allowed to use /api, or *"},
		{Key: "trusted_proxies", Env: "MINITWIT_TRUSTED_PROXIES", Usage: "comma-separated IPs or CIDRs whose X-Forwarded-For is believed"},
		{Key: "api.max_no", Env: "MINITWIT_API_MAX_NO", Usage: "largest no= an API request may ask for"},
		{Key: "log.level", Flag: "log-level", Env: "MINITWIT_LOG_LEVEL", Usage: "`level`: debug, info, warn or error"},
		{Key: "log.file", Env: "MINITWIT_LOG_FILE", Usage: "also write logs to this file, rotated (log.max_size_mb, log.max_files)"},
		{Key: "metrics.token", Env: "MINITWIT_METRICS_TOKEN", Usage: "bearer token that may read /metrics"},
		{Key: "tls.mode", Flag: "tls", Env: "MINITWIT_TLS", Usage: "public listener `mode`: off, self-signed or acme (default: acme when a domain is set, else off)"},
		{Key: "tls.domain", Flag: "domain", Env: "MINITWIT_DOMAIN", Usage: "public DNS `name`; turns on automatic certificates"},
		{Key: "tls.acme_ca", Env: "MINITWIT_ACME_CA", Usage: "ACME directory URL"},
		{Key: "tls.email", Env: "MINITWIT_ACME_EMAIL", Usage: "contact e-mail for the ACME account"},
		{Key: "backup.dir", Env: "MINITWIT_BACKUP_DIR", Usage: "folder for scheduled backups"},
		{Key: "admin.token", Env: "MINITWIT_ADMIN_TOKEN", Usage: "bearer token of the remote admin endpoints (backups and imports over HTTP)"},
		{Key: "admin.username", Env: "MINITWIT_ADMIN_USERNAME", Usage: "name of the first admin user, created on a new cluster's first start"},
		{Key: "admin.password", Env: "MINITWIT_ADMIN_PASSWORD", Usage: "the first admin's password (default: a one-time password printed once on the console, never logged)"},
		{Key: "backup.s3.access_key", Env: "MINITWIT_BACKUP_S3_ACCESS_KEY", Usage: "S3 access key for scheduled backups"},
		{Key: "backup.s3.secret_key", Env: "MINITWIT_BACKUP_S3_SECRET_KEY", Usage: "S3 secret key for scheduled backups"},
	}
}

// set stores a raw string from a flag or environment variable under key.
// Lists are comma-separated because that is what fits in one variable.
func set(c *Config, key, raw string) error {
	switch key {
	case "data_dir":
		c.DataDir = raw
	case "tls.mode":
		c.TLS.Mode = raw
	case "tls.domain":
		c.TLS.Domain = raw
	case "tls.acme_ca":
		c.TLS.ACMECA = raw
	case "tls.email":
		c.TLS.Email = raw
	case "backup.dir":
		c.Backup.Dir = raw
	case "admin.token":
		c.Admin.Token = raw
	case "admin.username":
		c.Admin.Username = raw
	case "admin.password":
		c.Admin.Password = raw
	case "backup.s3.access_key":
		c.Backup.S3.AccessKey = raw
	case "backup.s3.secret_key":
		c.Backup.S3.SecretKey = raw
	case "http_addr":
		c.HTTPAddr = raw
	case "node_id":
		c.NodeID = raw
	case "raft_addr":
		c.RaftAddr = raw
	case "join":
		c.Join = splitList(raw)
	case "join_token":
		c.JoinToken = raw
	case "trusted_proxies":
		c.TrustedProxyIPs = splitList(raw)
	case "simulator.username":
		c.Simulator.Username = raw
	case "simulator.password":
		c.Simulator.Password = raw
	case "simulator.accepted_ips":
		c.Simulator.AcceptedIPs = splitList(raw)
	case "api.max_no":
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		c.API.MaxNo = n
	case "log.file":
		c.Log.File = raw
	case "log.level":
		c.Log.Level = raw
	case "metrics.token":
		c.Metrics.Token = raw
	default:
		// Only reachable if Settings gains an entry this switch lacks; the
		// tests check that it cannot.
		return fmt.Errorf("cannot be set from outside the file")
	}
	return nil
}

// splitList splits a comma-separated value, trimming blanks and dropping
// empty items, so "a, b," is [a b] and "" is an empty list.
func splitList(raw string) []string {
	out := []string{}
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// secret ties a secret key to its *_file twin.
type secret struct {
	key, fileKey string
	value, file  *string
}

func secrets(c *Config) []secret {
	return []secret{
		{"simulator.password", "simulator.password_file", &c.Simulator.Password, &c.Simulator.PasswordFile},
		{"join_token", "join_token_file", &c.JoinToken, &c.JoinTokenFile},
		{"metrics.token", "metrics.token_file", &c.Metrics.Token, &c.Metrics.TokenFile},
		{"backup.s3.secret_key", "backup.s3.secret_key_file", &c.Backup.S3.SecretKey, &c.Backup.S3.SecretKeyFile},
		{"admin.token", "admin.token_file", &c.Admin.Token, &c.Admin.TokenFile},
		{"admin.password", "admin.password_file", &c.Admin.Password, &c.Admin.PasswordFile},
	}
}

// fileKeys returns every key the TOML file may hold, tables included,
// derived from the struct tags so that it cannot drift from Config.
func fileKeys() map[string]bool {
	keys := map[string]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			keys[prefix+name] = true
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix+name+".")
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}
