package config

import (
	"errors"
	"log/slog"
	"maps"
	"net/netip"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// validConfig is Default with a fixed node_id, so tests do not depend on the
// machine's host name.
func validConfig() Config {
	c := Default()
	c.NodeID = "node1"
	return c
}

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	c := Default() // the real host name, whatever it is, must give a valid node_id
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.AcceptedIPs() != nil {
		t.Errorf("default AcceptedIPs = %v, want nil (everyone)", c.AcceptedIPs())
	}
	if c.TrustedProxies() != nil {
		t.Errorf("default TrustedProxies = %v, want nil", c.TrustedProxies())
	}
	if got := c.SlogLevel(); got != slog.LevelInfo {
		t.Errorf("default SlogLevel = %v, want info", got)
	}
	want := Config{
		DataDir: "./minitwit-data", HTTPAddr: "127.0.0.1:8080", NodeID: c.NodeID, RaftAddr: "127.0.0.1:8081",
		Simulator: SimulatorConfig{Username: "simulator", AcceptedIPs: []string{"*"}},
		API:       APIConfig{MaxNo: 1000, MaxBodyBytes: 65536},
		Raft: RaftConfig{SnapshotThreshold: 8192, TrailingLogs: 10240, SnapshotInterval: Duration(30 * time.Second),
			Profile: "lan", HeartbeatTimeout: Duration(50 * time.Millisecond), ElectionTimeout: Duration(50 * time.Millisecond),
			LeaderLeaseTimeout: Duration(50 * time.Millisecond), CommitTimeout: Duration(2 * time.Millisecond)},
		Log:    LogConfig{Level: "info", Format: "auto", MaxSizeMB: 100, MaxFiles: 5},
		Alerts: AlertsConfig{Interval: Duration(30 * time.Second), WebhookFormat: "json"},
		TLS:    TLSConfig{ACMECA: LetsEncryptDirectory, HSTSMaxAge: Duration(365 * 24 * time.Hour)},
		Backup: BackupConfig{Interval: Duration(3 * time.Hour), KeepDays: 7, S3: S3Config{Prefix: "minitwit/", Region: "us-east-1"}},
		Admin:  AdminConfig{Username: "operator"},
		HTTP:   HTTPConfig{MaxConnections: 1000, IdleTimeout: Duration(60 * time.Second), RequestTimeout: Duration(10 * time.Second)},
	}
	if !sameConfig(c, want) {
		t.Errorf("Default() = %+v\nwant        %+v", c, want)
	}
}

func TestNodeIDFromHost(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 80)
	tests := []struct {
		host string
		err  error
		want string
	}{
		{"web-1", nil, "web-1"},
		{"Web-1.Example.COM", nil, "web-1.example.com"},
		{"my host+name", nil, "my-host-name"},
		{"nöde", nil, "n-de"},
		{long, nil, long[:64]},
		{"", nil, "node1"},
		{"whatever", errors.New("no host name"), "node1"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			got := nodeIDFromHost(tt.host, tt.err)
			if got != tt.want {
				t.Errorf("nodeIDFromHost(%q) = %q, want %q", tt.host, got, tt.want)
			}
			if err := checkNodeID(got); err != nil {
				t.Errorf("derived node_id %q is invalid: %v", got, err)
			}
		})
	}
}

func TestSimulatorPassword(t *testing.T) {
	t.Parallel()
	c := validConfig()
	if pw, isDefault := c.SimulatorPassword(); pw != DefaultSimulatorPassword || !isDefault {
		t.Errorf("unset: SimulatorPassword() = %q, %v; want the course default, true", pw, isDefault)
	}
	c.Simulator.Password = "a-real-secret"
	if pw, isDefault := c.SimulatorPassword(); pw != "a-real-secret" || isDefault {
		t.Errorf("set: SimulatorPassword() = %q, %v; want the configured one, false", pw, isDefault)
	}
}

func TestSlogLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level string
		want  slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
		{"WARN", slog.LevelWarn},
		{"nonsense", slog.LevelInfo},
	}
	for _, tt := range tests {
		c := Config{Log: LogConfig{Level: tt.level}}
		if got := c.SlogLevel(); got != tt.want {
			t.Errorf("SlogLevel(%q) = %v, want %v", tt.level, got, tt.want)
		}
	}
}

func TestParsedPrefixes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		accepted, trust  []string
		wantAcc, wantTru []string // nil: want nil
	}{
		{"star is everyone", []string{"*"}, nil, nil, nil},
		{
			"IPs and CIDRs",
			[]string{"10.1.2.3/8", "::1", "192.168.1.5"},
			[]string{"127.0.0.1", "fd00::/8"},
			[]string{"10.0.0.0/8", "::1/128", "192.168.1.5/32"},
			[]string{"127.0.0.1/32", "fd00::/8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			c.Simulator.AcceptedIPs, c.TrustedProxyIPs = tt.accepted, tt.trust
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := prefixStrings(c.AcceptedIPs()); !slices.Equal(got, tt.wantAcc) || (got == nil) != (tt.wantAcc == nil) {
				t.Errorf("AcceptedIPs() = %v, want %v", got, tt.wantAcc)
			}
			if got := prefixStrings(c.TrustedProxies()); !slices.Equal(got, tt.wantTru) {
				t.Errorf("TrustedProxies() = %v, want %v", got, tt.wantTru)
			}
		})
	}
}

func prefixStrings(ps []netip.Prefix) []string {
	if ps == nil {
		return nil
	}
	out := []string{}
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestAccessorsReturnCopies(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.Simulator.AcceptedIPs = []string{"10.0.0.0/8"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.AcceptedIPs()[0] = netip.MustParsePrefix("0.0.0.0/0")
	if got := c.AcceptedIPs()[0].String(); got != "10.0.0.0/8" {
		t.Errorf("caller changed the config's allow-list: %s", got)
	}
}

func TestSettingsTable(t *testing.T) {
	t.Parallel()
	keys := fileKeys()
	seenKey, seenFlag, seenEnv := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var sawConfig bool
	for _, s := range Settings() {
		if s.Usage == "" {
			t.Errorf("%+v: no usage", s)
		}
		if s.Flag == "" && s.Env == "" {
			t.Errorf("%+v: neither flag nor env", s)
		}
		if s.Env != "" && !strings.HasPrefix(s.Env, envPrefix) {
			t.Errorf("%s: environment variable without the %s prefix", s.Env, envPrefix)
		}
		for name, seen := range map[string]map[string]bool{s.Key: seenKey, s.Flag: seenFlag, s.Env: seenEnv} {
			if name != "" && seen[name] {
				t.Errorf("%q appears twice in Settings", name)
			}
			seen[name] = true
		}
		if s.Key == "" {
			sawConfig = s.Flag == configFlag && s.Env == configEnv
			continue
		}
		if !keys[s.Key] {
			t.Errorf("%s: not a key of the file", s.Key)
		}
		var c Config
		if err := set(&c, s.Key, "1"); err != nil {
			t.Errorf("%s: set refuses the key: %v", s.Key, err)
		}
	}
	if !sawConfig {
		t.Errorf("no entry for --%s / %s", configFlag, configEnv)
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Key: "http_addr", Source: "MINITWIT_HTTP_ADDR", Msg: `"localhost" is not host:port`}, `config: MINITWIT_HTTP_ADDR: "localhost" is not host:port`},
		{Error{Key: "api.max_no", Source: "file /x.toml", Msg: "must be at least 1"}, "config: api.max_no (file /x.toml): must be at least 1"},
		{Error{Key: "log.level", Source: "--log-level", Msg: "bad"}, "config: --log-level: bad"},
		{Error{Key: "api.max_no", Msg: "bad"}, "config: api.max_no: bad"},
		{Error{Source: "file /x.toml", Msg: "line 3: oops"}, "config: file /x.toml: line 3: oops"},
		{Error{Key: "k", Source: "default", Msg: "two\nlines"}, "config: k (default): two lines"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want []string
	}{
		{"", []string{}},
		{"a", []string{"a"}},
		{" a , b,,c ,", []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		if got := splitList(tt.raw); !slices.Equal(got, tt.want) {
			t.Errorf("splitList(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// TestTLSModes: the effective mode, the listeners acme mode implies, and
// the impossible combinations, each refused with a line naming the key.
func TestTLSModes(t *testing.T) {
	t.Parallel()
	load := func(flags map[string]string, env ...string) (Config, error) {
		cfg, _, err := Load(flags, append(env, "MINITWIT_DATA_DIR=/tmp/x"))
		return cfg, err
	}
	cfg, err := load(nil)
	if err != nil || cfg.TLSMode() != TLSOff || cfg.HTTPAddr != "127.0.0.1:8080" || cfg.TLS.RedirectAddr != "" {
		t.Fatalf("no TLS settings: mode %q http %q redirect %q, %v", cfg.TLSMode(), cfg.HTTPAddr, cfg.TLS.RedirectAddr, err)
	}
	cfg, err = load(map[string]string{"domain": "minitwit.example.org"})
	if err != nil || cfg.TLSMode() != TLSACME || cfg.HTTPAddr != ":443" || cfg.TLS.RedirectAddr != ":80" {
		t.Fatalf("a domain: mode %q http %q redirect %q, %v", cfg.TLSMode(), cfg.HTTPAddr, cfg.TLS.RedirectAddr, err)
	}
	cfg, err = load(map[string]string{"domain": "minitwit.example.org", "http-addr": ":8443"})
	if err != nil || cfg.HTTPAddr != ":8443" {
		t.Fatalf("a domain and http_addr: %q, %v", cfg.HTTPAddr, err)
	}
	cfg, err = load(map[string]string{"tls": "self-signed"})
	if err != nil || cfg.TLSMode() != TLSSelfSigned || cfg.HTTPAddr != "127.0.0.1:8080" {
		t.Fatalf("self-signed: mode %q http %q, %v", cfg.TLSMode(), cfg.HTTPAddr, err)
	}
	for _, c := range []struct {
		flags map[string]string
		env   []string
		key   string
	}{
		{map[string]string{"tls": "acme"}, nil, "tls.domain"},
		{map[string]string{"tls": "on"}, nil, "tls.mode"},
		{map[string]string{"domain": "not a name"}, nil, "tls.domain"},
		{map[string]string{"domain": "10.0.0.1"}, nil, "tls.domain"},
		{map[string]string{"domain": "minitwit.example.org"}, []string{"MINITWIT_ACME_CA=http://insecure/dir"}, "tls.acme_ca"},
		{map[string]string{"domain": "minitwit.example.org"}, []string{"MINITWIT_ACME_EMAIL=nobody"}, "tls.email"},
	} {
		_, err := load(c.flags, c.env...)
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != c.key || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %v: %v, want one line about %s", c.flags, c.env, err, c.key)
		}
	}
}

// TestTableMatchesStruct: the TOML decoder reads the struct tags, the rest
// reads the key table; both must name the same keys for the same fields.
func TestTableMatchesStruct(t *testing.T) {
	t.Parallel()
	var c Config
	tagged := map[string]any{} // dotted tag path -> pointer to the field
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
				walk(v.Field(i), prefix+name+".")
				continue
			}
			tagged[prefix+name] = v.Field(i).Addr().Interface()
		}
	}
	walk(reflect.ValueOf(&c).Elem(), "")
	seen := map[string]bool{}
	for _, k := range table() {
		if seen[k.name] {
			t.Errorf("%s: declared twice", k.name)
		}
		seen[k.name] = true
		ptr, ok := tagged[k.name]
		if !ok {
			t.Errorf("%s: no struct field has this tag path", k.name)
			continue
		}
		if k.field(&c) != ptr {
			t.Errorf("%s: the table points at another field than the one tagged so", k.name)
		}
		if (k.flagName != "" || k.envName != "") != (k.usage != "") {
			t.Errorf("%s: a flag or variable needs a help line, and only they show one", k.name)
		}
		if k.secretFile != "" {
			if f, ok := lookup(k.secretFile); !ok || f.flagName != "" || f.envName != "" {
				t.Errorf("%s: its *_file key %q must be a file-only key of the table", k.name, k.secretFile)
			}
		}
	}
	for name := range tagged {
		if !seen[name] {
			t.Errorf("%s: tagged in Config but not in the key table", name)
		}
	}
}

// TestEveryKeyParses: each field type in the table can be set from a
// string, so any key could gain a flag or variable.
func TestEveryKeyParses(t *testing.T) {
	t.Parallel()
	for _, k := range table() {
		var c Config
		if err := k.set(&c, "1s"); err != nil && strings.Contains(err.Error(), "cannot be set") {
			t.Errorf("%s: %v", k.name, err)
		}
	}
}

// TestImportsOnlyLeaves keeps the configuration a leaf itself: it may use
// no part of the project but packages that import none either.
func TestImportsOnlyLeaves(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		t.Skip("no go command on PATH")
	}
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	allowed := map[string]bool{"minitwit/node/config": true, "minitwit/store/username": true}
	for p := range strings.FieldsSeq(string(out)) {
		if strings.HasPrefix(p, "minitwit/") && !allowed[p] {
			t.Errorf("node/config depends on %s; it may use leaf packages only (%v)", p, slices.Sorted(maps.Keys(allowed)))
		}
	}
}
