package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// env returns a lookup over m, so no test reads the real environment.
func env(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sameConfig compares configs, treating a nil and an empty list alike.
func sameConfig(a, b Config) bool {
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

// loadCase is one call to Load: an optional config file, the environment,
// the flags the user set. "$FILE" in env and flag values stands for the
// config file's path.
type loadCase struct {
	file  string
	env   map[string]string
	flags map[string]string
}

func (lc loadCase) load(t *testing.T) (cfg Config, warnings []string, path string, err error) {
	t.Helper()
	if lc.file != "" {
		path = writeFile(t, t.TempDir(), "minitwit.toml", lc.file)
	}
	expand := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = strings.ReplaceAll(v, "$FILE", path)
		}
		return out
	}
	flags := expand(lc.flags)
	if _, ok := flags[configFlag]; !ok && path != "" && lc.env[configEnv] == "" {
		flags[configFlag] = path
	}
	cfg, warnings, err = Load(flags, env(expand(lc.env)))
	return cfg, warnings, path, err
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		loadCase
		got  func(Config) any
		want any
	}{
		{"default", loadCase{}, func(c Config) any { return c.HTTPAddr }, "127.0.0.1:8080"},
		{
			"file beats default",
			loadCase{file: `http_addr = "127.0.0.1:9000"`},
			func(c Config) any { return c.HTTPAddr }, "127.0.0.1:9000",
		},
		{
			"env beats file",
			loadCase{file: `http_addr = "127.0.0.1:9000"`, env: map[string]string{"MINITWIT_HTTP_ADDR": "127.0.0.1:9001"}},
			func(c Config) any { return c.HTTPAddr }, "127.0.0.1:9001",
		},
		{
			"flag beats env",
			loadCase{
				file:  `http_addr = "127.0.0.1:9000"`,
				env:   map[string]string{"MINITWIT_HTTP_ADDR": "127.0.0.1:9001"},
				flags: map[string]string{"http-addr": "127.0.0.1:9002"},
			},
			func(c Config) any { return c.HTTPAddr }, "127.0.0.1:9002",
		},
		{
			"nested key: env beats file",
			loadCase{file: "[api]\nmax_no = 50", env: map[string]string{"MINITWIT_API_MAX_NO": "60"}},
			func(c Config) any { return c.API.MaxNo }, 60,
		},
		{
			"file keeps unset keys at default",
			loadCase{file: "[api]\nmax_no = 50"},
			func(c Config) any { return c.API.MaxBodyBytes }, int64(65536),
		},
		{
			"file list replaces default list",
			loadCase{file: "[simulator]\naccepted_ips = [\"10.0.0.0/8\"]"},
			func(c Config) any { return c.Simulator.AcceptedIPs }, []string{"10.0.0.0/8"},
		},
		{
			"config file from env",
			loadCase{file: `log = { level = "debug" }`, env: map[string]string{configEnv: "$FILE"}},
			func(c Config) any { return c.Log.Level }, "debug",
		},
		{
			"--config beats MINITWIT_CONFIG",
			loadCase{file: `data_dir = "/from-flag"`, env: map[string]string{configEnv: "/nonexistent.toml"}, flags: map[string]string{"config": "$FILE"}},
			func(c Config) any { return c.DataDir }, "/from-flag",
		},
		{
			"empty --config reads no file",
			loadCase{env: map[string]string{configEnv: "/nonexistent.toml"}, flags: map[string]string{"config": ""}},
			func(c Config) any { return c.DataDir }, "./minitwit-data",
		},
		{
			"empty env var counts as unset",
			loadCase{file: `data_dir = "/from-file"`, env: map[string]string{"MINITWIT_DATA_DIR": ""}},
			func(c Config) any { return c.DataDir }, "/from-file",
		},
		{
			"comma list from env",
			loadCase{env: map[string]string{"MINITWIT_JOIN": "127.0.0.1:9001, 127.0.0.1:9002,", "MINITWIT_JOIN_TOKEN": "0123456789abcdef-token"}},
			func(c Config) any { return c.Join }, []string{"127.0.0.1:9001", "127.0.0.1:9002"},
		},
		{
			"comma list from flag beats env",
			loadCase{env: map[string]string{"MINITWIT_JOIN": "127.0.0.1:9001", "MINITWIT_JOIN_TOKEN": "0123456789abcdef-token"}, flags: map[string]string{"join": "127.0.0.1:9003,localhost:9004"}},
			func(c Config) any { return c.Join }, []string{"127.0.0.1:9003", "localhost:9004"},
		},
		{
			"empty flag empties a file list",
			loadCase{file: `join = ["127.0.0.1:9001"]`, flags: map[string]string{"join": ""}},
			func(c Config) any { return c.Join }, []string{},
		},
		{
			"accepted_ips from env",
			loadCase{env: map[string]string{"MINITWIT_SIM_ACCEPTED_IPS": "10.0.0.0/8,127.0.0.1"}},
			func(c Config) any { return prefixStrings(c.AcceptedIPs()) }, []string{"10.0.0.0/8", "127.0.0.1/32"},
		},
		{
			"http.trusted_proxies from env",
			loadCase{env: map[string]string{"MINITWIT_HTTP_TRUSTED_PROXIES": "127.0.0.1, ::1"}},
			func(c Config) any { return prefixStrings(c.TrustedProxies()) }, []string{"127.0.0.1/32", "::1/128"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, warnings, _, err := tt.load(t)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if got := tt.got(cfg); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEverySettingReachesItsField sets each key by each route the table
// offers and checks that the value lands in the right field.
func TestEverySettingReachesItsField(t *testing.T) {
	t.Parallel()
	keyFile := writeFile(t, t.TempDir(), "backup.key", "AGE-SECRET-KEY-1...")
	values := map[string]struct {
		raw string
		get func(Config) any
	}{
		"data_dir":                   {"/srv/minitwit", func(c Config) any { return c.DataDir }},
		"http_addr":                  {":9090", func(c Config) any { return c.HTTPAddr }},
		"node_id":                    {"web-7", func(c Config) any { return c.NodeID }},
		"raft_addr":                  {"127.0.0.1:9091", func(c Config) any { return c.RaftAddr }},
		"join":                       {"127.0.0.1:9001,127.0.0.1:9002", func(c Config) any { return strings.Join(c.Join, ",") }},
		"join_token":                 {"0123456789abcdef-token", func(c Config) any { return c.JoinToken }},
		"simulator.username":         {"sim", func(c Config) any { return c.Simulator.Username }},
		"simulator.password":         {"s3cret", func(c Config) any { return c.Simulator.Password }},
		"simulator.accepted_ips":     {"127.0.0.1,10.0.0.0/8", func(c Config) any { return strings.Join(c.Simulator.AcceptedIPs, ",") }},
		"trusted_proxies":            {"127.0.0.1,10.0.0.0/8", func(c Config) any { return strings.Join(c.TrustedProxyIPs, ",") }},
		"http.trusted_proxies":       {"127.0.0.1,10.0.0.0/8", func(c Config) any { return strings.Join(c.HTTP.TrustedProxies, ",") }},
		"backup.encryption_key_file": {keyFile, func(c Config) any { return c.Backup.EncryptionKeyFile }},
		"api.max_no":                 {"42", func(c Config) any { return fmt.Sprint(c.API.MaxNo) }},
		"raft.profile":               {"wan", func(c Config) any { return c.Raft.Profile }},
		"log.level":                  {"warn", func(c Config) any { return c.Log.Level }},
		"log.format":                 {"text", func(c Config) any { return c.Log.Format }},
		"log.file":                   {"/var/log/minitwit/minitwit.log", func(c Config) any { return c.Log.File }},
		"metrics.token":              {"scrape-me-0123456789", func(c Config) any { return c.Metrics.Token }},
		"alerts.webhook_url":         {"https://hooks.example.com/services/T0/B0/x", func(c Config) any { return c.Alerts.WebhookURL }},
		"alerts.webhook_format":      {"slack", func(c Config) any { return c.Alerts.WebhookFormat }},
		"alerts.webhook_token":       {"alert-token", func(c Config) any { return c.Alerts.WebhookToken }},
		"tls.mode":                   {"self-signed", func(c Config) any { return c.TLS.Mode }},
		"tls.domain":                 {"minitwit.example.org", func(c Config) any { return c.TLS.Domain }},
		"tls.acme_ca":                {"https://acme-staging-v02.api.letsencrypt.org/directory", func(c Config) any { return c.TLS.ACMECA }},
		"tls.email":                  {"ops@example.org", func(c Config) any { return c.TLS.Email }},
		"backup.dir":                 {"/var/backups/minitwit", func(c Config) any { return c.Backup.Dir }},
		"admin.token":                {"admin-token-0123456789", func(c Config) any { return c.Admin.Token }},
		"admin.username":             {"root-of-all", func(c Config) any { return c.Admin.Username }},
		"admin.password":             {"first-admin-secret", func(c Config) any { return c.Admin.Password }},
		"admin.require_2fa":          {"true", func(c Config) any { return fmt.Sprint(c.Admin.Require2FA) }},
		"backup.s3.access_key":       {"AKIA0123", func(c Config) any { return c.Backup.S3.AccessKey }},
		"backup.s3.secret_key":       {"s3-secret", func(c Config) any { return c.Backup.S3.SecretKey }},
	}
	for _, s := range Settings() {
		if s.Key == "" {
			continue
		}
		v, ok := values[s.Key]
		if !ok {
			t.Errorf("%s: no test value", s.Key)
			continue
		}
		var routes []loadCase
		if s.Env != "" {
			routes = append(routes, loadCase{env: map[string]string{s.Env: v.raw}})
		}
		if s.Flag != "" {
			routes = append(routes, loadCase{flags: map[string]string{s.Flag: v.raw}})
		}
		if s.Key == "join" { // joining needs a token as well
			for i := range routes {
				if routes[i].env == nil {
					routes[i].env = map[string]string{}
				}
				routes[i].env["MINITWIT_JOIN_TOKEN"] = "0123456789abcdef-token"
			}
		}
		for _, lc := range routes {
			cfg, _, _, err := lc.load(t)
			if err != nil {
				t.Errorf("%s via %v%v: %v", s.Key, lc.env, lc.flags, err)
				continue
			}
			if got := v.get(cfg); got != v.raw {
				t.Errorf("%s via %v%v: got %q, want %q", s.Key, lc.env, lc.flags, got, v.raw)
			}
		}
	}
}

func TestLoadErrorsNameKeyAndSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		loadCase
		key  string
		want string // "$FILE" stands for the config file's path
	}{
		{
			"env value",
			loadCase{env: map[string]string{"MINITWIT_HTTP_ADDR": "localhost"}},
			"http_addr", `config: MINITWIT_HTTP_ADDR: "localhost" is not host:port`,
		},
		{
			"file value",
			loadCase{file: "[api]\nmax_no = 0"},
			"api.max_no", "config: api.max_no (file $FILE): must be at least 1 (is 0)",
		},
		{
			"flag value",
			loadCase{flags: map[string]string{"log-level": "loud"}},
			"log.level", `config: --log-level: "loud" must be one of debug, info, warn, error`,
		},
		{
			"env number",
			loadCase{env: map[string]string{"MINITWIT_API_MAX_NO": "lots"}},
			"api.max_no", `config: MINITWIT_API_MAX_NO: "lots" is not a whole number`,
		},
		{
			"raft_addr on all interfaces",
			loadCase{flags: map[string]string{"raft-addr": "0.0.0.0:8081"}},
			"raft_addr", `config: --raft-addr: host "0.0.0.0" is not an address other nodes can reach`,
		},
		{
			"unknown flag",
			loadCase{flags: map[string]string{"colour": "red"}},
			"", "config: --colour: not a configuration flag",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, path, err := tt.load(t)
			assertError(t, err, tt.key, strings.ReplaceAll(tt.want, "$FILE", path))
		})
	}
}

// assertError checks that err is a one-line *Error for key whose message
// contains want.
func assertError(t *testing.T, err error, key, want string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want an *Error", err)
	}
	if ce.Key != key {
		t.Errorf("error %q is about key %q, want %q", err, ce.Key, key)
	}
	if msg := err.Error(); !strings.Contains(msg, want) || !strings.HasPrefix(msg, "config: ") || strings.Contains(msg, "\n") {
		t.Errorf("error %q, want one line starting with \"config: \" containing %q", msg, want)
	}
}

func TestLoadFileProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		loadCase
		key  string
		want []string // each must appear; "$FILE" is the path
	}{
		{"unknown top-level key", loadCase{file: "data_dir = \"x\"\ncolour = \"red\""}, "colour", []string{"config: colour (file $FILE): unknown key"}},
		{"unknown nested key", loadCase{file: "[simulator]\npasword = \"x\""}, "simulator.pasword", []string{"simulator.pasword (file $FILE): unknown key"}},
		{"key in wrong case", loadCase{file: `Data_Dir = "x"`}, "Data_Dir", []string{"Data_Dir", "unknown key"}},
		{"several unknown keys", loadCase{file: "a = 1\n[api]\nb = 2"}, "a", []string{"unknown key (also api.b)"}},
		{"unsupported table", loadCase{file: "[theme]\ncolour = \"dark\""}, "theme", []string{"unknown key (also theme.colour)"}},
		{"syntax error", loadCase{file: "data_dir = \"x\"\n\nhttp_addr = \"oops\n"}, "", []string{"config: file $FILE: line 3"}},
		{"wrong type", loadCase{file: "[api]\nmax_no = \"many\""}, "", []string{"file $FILE", "line 2", "api.max_no"}},
		{"missing file from flag", loadCase{flags: map[string]string{"config": "/nonexistent/minitwit.toml"}}, "", []string{`config: --config: config file "/nonexistent/minitwit.toml" does not exist`}},
		{"missing file from env", loadCase{env: map[string]string{configEnv: "/nonexistent/minitwit.toml"}}, "", []string{`config: MINITWIT_CONFIG: config file "/nonexistent/minitwit.toml" does not exist`}},
		{"config file is a directory", loadCase{flags: map[string]string{"config": "/"}}, "", []string{"config: --config: ", "directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, path, err := tt.load(t)
			for _, want := range tt.want {
				assertError(t, err, tt.key, strings.ReplaceAll(want, "$FILE", path))
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "sim-password", "  from-file\n")
	tokenPath := writeFile(t, dir, "join-token", "join-token-from-file-0123\n")
	writeFile(t, dir, "metrics-token", "metrics-from-file")
	writeFile(t, dir, "empty", " \n")
	writeFile(t, dir, "short", "short-token")

	type want struct{ sim, join, metrics string }
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags map[string]string
		want  want
	}{
		{
			"from files, relative and absolute",
			"join_token_file = '" + tokenPath + "'\n[simulator]\npassword_file = 'sim-password'\n[metrics]\ntoken_file = 'metrics-token'",
			nil, nil,
			want{"from-file", "join-token-from-file-0123", "metrics-from-file"},
		},
		{
			"inline in the file",
			"join_token = 'join-token-inline-0123'\n[simulator]\npassword = 'inline'",
			nil, nil,
			want{"inline", "join-token-inline-0123", ""},
		},
		{
			"env overrides the _file, which is not read",
			"join_token_file = 'missing'\n[simulator]\npassword_file = 'missing'\n[metrics]\ntoken_file = 'missing'",
			map[string]string{"MINITWIT_SIM_PASSWORD": "from-env", "MINITWIT_JOIN_TOKEN": "join-token-from-env-0123", "MINITWIT_METRICS_TOKEN": "metrics-from-env"},
			nil,
			want{"from-env", "join-token-from-env-0123", "metrics-from-env"},
		},
		{
			"env overrides the inline secret",
			"[simulator]\npassword = 'inline'",
			map[string]string{"MINITWIT_SIM_PASSWORD": "from-env"},
			nil,
			want{"from-env", "", ""},
		},
		{
			"flag overrides env and _file",
			"join_token_file = 'join-token'",
			map[string]string{"MINITWIT_JOIN_TOKEN": "join-token-from-env-0123"},
			map[string]string{"join-token": "join-token-from-flag-0123"},
			want{"", "join-token-from-flag-0123", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "_")+".toml", tt.file)
			flags := map[string]string{"config": path}
			for k, v := range tt.flags {
				flags[k] = v
			}
			cfg, _, err := Load(flags, env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := want{cfg.Simulator.Password, cfg.JoinToken, cfg.Metrics.Token}
			if got != tt.want {
				t.Errorf("secrets = %+v, want %+v", got, tt.want)
			}
			if pw, isDefault := cfg.SimulatorPassword(); isDefault != (tt.want.sim == "") || (!isDefault && pw != tt.want.sim) {
				t.Errorf("SimulatorPassword() = %q, %v", pw, isDefault)
			}
		})
	}

	errTests := []struct {
		name string
		file string
		env  map[string]string
		key  string
		want []string
	}{
		{"secret and _file together", "[simulator]\npassword = 'x'\npassword_file = 'sim-password'", nil, "simulator.password", []string{"simulator.password (file ", "simulator.password_file"}},
		{"conflict stands despite env", "join_token = 'join-token-inline-0123'\njoin_token_file = 'join-token'", map[string]string{"MINITWIT_JOIN_TOKEN": "join-token-from-env-0123"}, "join_token", []string{"join_token_file"}},
		{"metrics conflict", "[metrics]\ntoken = 'x'\ntoken_file = 'metrics-token'", nil, "metrics.token", []string{"metrics.token_file"}},
		{"missing _file", "[simulator]\npassword_file = 'no-such-file'", nil, "simulator.password_file", []string{"simulator.password_file (file ", "no-such-file"}},
		{"empty _file", "[metrics]\ntoken_file = 'empty'", nil, "metrics.token_file", []string{"metrics.token_file (file ", "is empty"}},
		{"short token from _file", "join_token_file = 'short'", nil, "join_token", []string{"join_token (join_token_file ", "at least 16"}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "_")+".toml", tt.file)
			_, _, err := Load(map[string]string{"config": path}, env(tt.env))
			for _, want := range tt.want {
				assertError(t, err, tt.key, want)
			}
			if err != nil && strings.Contains(err.Error(), "short-token") {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
}

func TestUnknownEnvWarns(t *testing.T) {
	t.Parallel()
	environ := []string{
		"PATH=/usr/bin",
		"MINITWIT_DATA_DIR=/srv/minitwit",
		"MINITWIT_SIM_PASWORD=oops",
		"MINITWIT_COLOUR=red",
		"MINITWIT_JOIN=",
	}
	cfg, warnings, err := Load(nil, environ)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/srv/minitwit" {
		t.Errorf("DataDir = %q; known variables must still apply", cfg.DataDir)
	}
	want := []string{
		"config: unknown environment variable MINITWIT_COLOUR ignored",
		"config: unknown environment variable MINITWIT_SIM_PASWORD ignored; did you mean MINITWIT_SIM_PASSWORD?",
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings = %q\nwant       %q", warnings, want)
	}
}

func TestWarningsSurviveAnError(t *testing.T) {
	t.Parallel()
	_, warnings, err := Load(nil, []string{"MINITWIT_HTTP_ADDR=nope", "MINITWIT_HTTP=1"})
	if err == nil || len(warnings) != 1 {
		t.Errorf("err = %v, warnings = %q; want an error and one warning", err, warnings)
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"MINITWIT_SIM_PASWORD", "MINITWIT_SIM_PASSWORD", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

const examplePath = "../../minitwit.example.toml"

// TestExampleFile keeps minitwit.example.toml honest: it loads strictly,
// changes nothing but what it says, and mentions every key.
func TestExampleFile(t *testing.T) {
	t.Parallel()
	cfg, warnings, err := Load(map[string]string{"config": examplePath}, env(nil))
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	want := Default()
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	if !sameConfig(cfg, want) {
		t.Errorf("the example changes the defaults:\n got %+v\nwant %+v", cfg, want)
	}

	text, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	md, err := toml.Decode(string(text), &raw)
	if err != nil {
		t.Fatal(err)
	}
	// node_id's default is the host name, so the example shows it commented
	// out rather than pinning every node that copies the file to one name.
	// The Raft timeouts follow raft.profile unless set, so the example shows
	// them commented out too: set there, they would pin the lan values.
	// trusted_proxies is the deprecated name of http.trusted_proxies: shown
	// commented out, so that a copy of the example does not use it.
	commented := map[string]bool{"trusted_proxies": true, "node_id": true, "raft.heartbeat_timeout": true, "raft.election_timeout": true,
		"raft.leader_lease_timeout": true, "raft.commit_timeout": true}
	for key := range fileKeys() {
		if commented[key] {
			// Shown in its table, so by the last part of its name.
			if !strings.Contains(string(text), "\n# "+key[strings.LastIndex(key, ".")+1:]+" = ") {
				t.Errorf("the example does not show %s, commented out", key)
			}
			continue
		}
		if !md.IsDefined(strings.Split(key, ".")...) {
			t.Errorf("the example does not document %s", key)
		}
	}
	for _, s := range Settings() {
		for _, name := range []string{s.Env, "--" + s.Flag} {
			if name != "--" && !strings.Contains(string(text), strings.TrimPrefix(name, "--")) {
				t.Errorf("the example does not mention %s", name)
			}
		}
	}
}

// TestRaftProfile: raft.profile sets every Raft timeout that no source set,
// wherever the profile itself came from; a timeout set anywhere wins.
func TestRaftProfile(t *testing.T) {
	t.Parallel()
	lan, wan := RaftProfiles()[RaftLAN], RaftProfiles()[RaftWAN]
	tests := []struct {
		name string
		loadCase
		want RaftTiming
	}{
		{"default is lan", loadCase{}, lan},
		{"wan from the file", loadCase{file: "[raft]\nprofile = \"wan\""}, wan},
		{"wan from the environment", loadCase{env: map[string]string{"MINITWIT_RAFT_PROFILE": "wan"}}, wan},
		{
			"a timeout set in the file wins over the profile",
			loadCase{file: "[raft]\nheartbeat_timeout = \"2s\"\nelection_timeout = \"3s\"", env: map[string]string{"MINITWIT_RAFT_PROFILE": "wan"}},
			RaftTiming{HeartbeatTimeout: 2 * time.Second, ElectionTimeout: 3 * time.Second, LeaderLeaseTimeout: wan.LeaderLeaseTimeout, CommitTimeout: wan.CommitTimeout},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, _, err := tt.load(t)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Raft.Timing(); got != tt.want {
				t.Errorf("timing = %v, want %v", got, tt.want)
			}
		})
	}
	// Explicit timeouts are checked against the profile's others.
	_, _, _, err := loadCase{file: "[raft]\nprofile = \"wan\"\nheartbeat_timeout = \"2s\""}.load(t)
	assertError(t, err, "raft.election_timeout", "at least raft.heartbeat_timeout (2s; is 1s)")
	_, _, _, err = loadCase{file: "[raft]\nprofile = \"wan\"\nheartbeat_timeout = \"100ms\""}.load(t)
	assertError(t, err, "raft.leader_lease_timeout", "at most raft.heartbeat_timeout (100ms; is 500ms)")
}

// TestTrustedProxiesAlias: the deprecated top-level trusted_proxies still
// sets the trusted proxies, with one warning naming the new key; the new
// key alone warns of nothing; both with different lists is refused.
func TestTrustedProxiesAlias(t *testing.T) {
	t.Parallel()
	for _, lc := range []loadCase{
		{file: `trusted_proxies = ["10.0.0.1"]`},
		{env: map[string]string{"MINITWIT_TRUSTED_PROXIES": "10.0.0.1"}},
	} {
		cfg, warnings, _, err := lc.load(t)
		if err != nil {
			t.Fatal(err)
		}
		if got := prefixStrings(cfg.TrustedProxies()); !slices.Equal(got, []string{"10.0.0.1/32"}) {
			t.Errorf("%v: TrustedProxies() = %v", lc, got)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "deprecated") || !strings.Contains(warnings[0], "http.trusted_proxies") {
			t.Errorf("%v: warnings %q, want one naming http.trusted_proxies", lc, warnings)
		}
	}
	cfg, warnings, _, err := loadCase{file: "[http]\ntrusted_proxies = [\"fd00::/8\"]"}.load(t)
	if err != nil || len(warnings) != 0 || !slices.Equal(prefixStrings(cfg.TrustedProxies()), []string{"fd00::/8"}) {
		t.Errorf("http.trusted_proxies: %v, warnings %q, %v", cfg.TrustedProxies(), warnings, err)
	}
	// The same list under both names is harmless; different lists are not.
	if _, _, _, err := (loadCase{file: "trusted_proxies = [\"10.0.0.1\"]\n[http]\ntrusted_proxies = [\"10.0.0.1\"]"}).load(t); err != nil {
		t.Errorf("the same list twice: %v", err)
	}
	_, _, _, err = loadCase{file: "trusted_proxies = [\"10.0.0.1\"]\n[http]\ntrusted_proxies = [\"10.0.0.2\"]"}.load(t)
	if err == nil || !strings.Contains(err.Error(), "http.trusted_proxies") {
		t.Errorf("different lists under both names: %v", err)
	}
}

// TestBackupKeyFile: the key file must exist and lie outside data_dir; a
// relative path in the file is read from the file's folder.
func TestBackupKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeFile(t, dir, "backup.key", "x")
	os.MkdirAll(data, 0o700)
	writeFile(t, data, "inside.key", "x")
	path := writeFile(t, dir, "minitwit.toml", "data_dir = \""+data+"\"\n[backup]\nencryption_key_file = \"backup.key\"\n")
	cfg, _, err := Load(map[string]string{configFlag: path}, nil)
	if err != nil || cfg.Backup.EncryptionKeyFile != filepath.Join(dir, "backup.key") {
		t.Errorf("relative key file: %q, %v", cfg.Backup.EncryptionKeyFile, err)
	}
	for name, tc := range map[string]struct{ key, want string }{
		"missing":         {filepath.Join(dir, "nope.key"), "minitwit backup keygen"},
		"inside data_dir": {filepath.Join(data, "inside.key"), "inside data_dir"},
		"a folder":        {dir, "not a file"},
	} {
		_, _, err := Load(map[string]string{"data-dir": data}, []string{"MINITWIT_BACKUP_ENCRYPTION_KEY_FILE=" + tc.key})
		var e *Error
		if !errors.As(err, &e) || e.Key != "backup.encryption_key_file" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error on backup.encryption_key_file saying %q", name, err, tc.want)
		}
	}
}
