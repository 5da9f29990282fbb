package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load builds the configuration a node starts with: defaults, then the TOML
// file, then the environment, then flags, then secrets read from their *_file
// paths, then Validate. flags holds only the flags the user set (name without
// dashes → raw value); environ is the environment as "NAME=value" entries (the
// form os.Environ returns), so unknown MINITWIT_* variables can be reported.
//
// The error, if any, is an *Error. Warnings are one line each.
func Load(flags map[string]string, environ []string) (cfg Config, warnings []string, err error) {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		env[name] = value
	}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	return load(flags, lookup, slices.Collect(maps.Keys(env)))
}

// load does the work of Load. envNames are the variables to check for
// unknown MINITWIT_* names; nil skips the check.
func load(flags map[string]string, getenv func(string) (string, bool), envNames []string) (Config, []string, error) {
	settings := Settings()
	warnings := unknownEnv(envNames, settings)
	cfg := Default()
	// sources maps a key to where its current value came from; keys absent
	// from it still hold their default.
	sources := map[string]string{}

	configDir := ""
	if path, from := configPath(flags, getenv); path != "" {
		if err := decodeFile(&cfg, path, from, sources); err != nil {
			return Config{}, warnings, err
		}
		configDir = filepath.Dir(path)
	}

	for _, s := range settings {
		if s.Key == "" || s.Env == "" {
			continue
		}
		// Empty counts as unset: container and systemd templates often carry
		// a variable with no value, and an empty value never means anything
		// useful for these keys (a list is emptied in the file or by flag).
		raw, ok := getenv(s.Env)
		if !ok || raw == "" {
			continue
		}
		if err := override(&cfg, s.Key, raw); err != nil {
			return Config{}, warnings, &Error{Key: s.Key, Source: s.Env, Msg: err.Error()}
		}
		sources[s.Key] = s.Env
	}

	byFlag := map[string]Setting{}
	for _, s := range settings {
		if s.Flag != "" {
			byFlag[s.Flag] = s
		}
	}
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		s, ok := byFlag[name]
		if !ok {
			return Config{}, warnings, &Error{Source: "--" + name, Msg: "not a configuration flag"}
		}
		if s.Key == "" {
			continue // --config, already used
		}
		if err := override(&cfg, s.Key, flags[name]); err != nil {
			return Config{}, warnings, &Error{Key: s.Key, Source: "--" + name, Msg: err.Error()}
		}
		sources[s.Key] = "--" + name
	}

	if err := readSecretFiles(&cfg, configDir, sources); err != nil {
		return Config{}, warnings, err
	}
	// With automatic certificates the public listener is HTTPS on :443 and
	// :80 answers challenges and redirects, unless set otherwise.
	if cfg.TLSMode() == TLSACME {
		if _, set := sources["http_addr"]; !set {
			cfg.HTTPAddr = ":443"
		}
		if _, set := sources["tls.redirect_addr"]; !set {
			cfg.TLS.RedirectAddr = ":80"
		}
	}
	applyRaftProfile(&cfg, func(key string) bool { _, set := sources[key]; return set })
	if cfg.TLS.CABundle != "" && !filepath.IsAbs(cfg.TLS.CABundle) && configDir != "" {
		cfg.TLS.CABundle = filepath.Join(configDir, cfg.TLS.CABundle)
	}
	if cfg.Backup.EncryptionKeyFile != "" && !filepath.IsAbs(cfg.Backup.EncryptionKeyFile) && configDir != "" {
		if src := sources["backup.encryption_key_file"]; !strings.HasPrefix(src, "MINITWIT_") && !strings.HasPrefix(src, "--") {
			cfg.Backup.EncryptionKeyFile = filepath.Join(configDir, cfg.Backup.EncryptionKeyFile)
		}
	}
	if err := cfg.validate(sourceOf(sources)); err != nil {
		return Config{}, warnings, err
	}
	if src, set := sources["trusted_proxies"]; set && len(cfg.TrustedProxyIPs) > 0 {
		warnings = append(warnings, fmt.Sprintf("trusted_proxies (%s) is deprecated: name it http.trusted_proxies (env MINITWIT_HTTP_TRUSTED_PROXIES)", src))
	}
	return cfg, warnings, nil
}

// configPath says which file to read and what named it. An explicit empty
// --config means no file, even if MINITWIT_CONFIG names one.
func configPath(flags map[string]string, getenv func(string) (string, bool)) (path, from string) {
	if p, ok := flags[configFlag]; ok {
		return p, "--" + configFlag
	}
	if p, ok := getenv(configEnv); ok && p != "" {
		return p, configEnv
	}
	return "", ""
}

// decodeFile overlays the TOML file at path onto cfg and records the keys it
// set in sources. from names what selected the file, for the error when it
// cannot be read.
func decodeFile(cfg *Config, path, from string, sources map[string]string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Error{Source: from, Msg: fmt.Sprintf("config file %q does not exist", path)}
	}
	if err != nil {
		return &Error{Source: from, Msg: err.Error()}
	}
	label := "file " + path
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		// Both syntax and type errors read "toml: line N (last key ...): ...".
		return &Error{Source: label, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	if unknown := unknownKeys(md); len(unknown) > 0 {
		msg := "unknown key"
		if guess := Closest(unknown[0], slices.Collect(maps.Keys(fileKeys()))); guess != "" {
			msg += "; did you mean " + guess + "?"
		}
		if len(unknown) > 1 {
			msg += " (also " + strings.Join(unknown[1:], ", ") + ")"
		}
		return &Error{Key: unknown[0], Source: label, Msg: msg}
	}
	for _, k := range md.Keys() {
		sources[k.String()] = label
	}
	for _, s := range secrets(cfg) {
		if *s.value != "" && *s.file != "" {
			return &Error{Key: s.key, Source: label, Msg: fmt.Sprintf(
				"set together with %s; keep only one (%s keeps the secret out of this file)", s.fileKey, s.fileKey)}
		}
	}
	return nil
}

// unknownKeys lists, in file order, the keys the decoder skipped and those it
// only matched by ignoring case: the file's names are a contract, so
// "Data_Dir" is as wrong as "data_dri".
func unknownKeys(md toml.MetaData) []string {
	known := fileKeys()
	seen := map[string]bool{}
	var unknown []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			unknown = append(unknown, k)
		}
	}
	for _, k := range md.Undecoded() {
		add(k.String())
	}
	for _, k := range md.Keys() {
		if !known[k.String()] {
			add(k.String())
		}
	}
	return unknown
}

// override sets key from a flag or the environment. A secret given this way
// replaces its *_file twin too, so that a deployment can override a file
// that names a secret file.
func override(cfg *Config, key, raw string) error {
	if err := set(cfg, key, raw); err != nil {
		return err
	}
	for _, s := range secrets(cfg) {
		if s.key == key {
			*s.file = ""
		}
	}
	return nil
}

// readSecretFiles replaces each *_file path with the trimmed content of the
// file. Relative paths are taken from the config file's directory, where
// they were written, not from wherever the binary happens to start.
func readSecretFiles(cfg *Config, configDir string, sources map[string]string) error {
	for _, s := range secrets(cfg) {
		if *s.file == "" {
			continue
		}
		path := *s.file
		if !filepath.IsAbs(path) {
			path = filepath.Join(configDir, path)
		}
		from := sourceOf(sources)(s.fileKey)
		data, err := os.ReadFile(path)
		if err != nil {
			return &Error{Key: s.fileKey, Source: from, Msg: err.Error()}
		}
		value := strings.TrimSpace(string(data))
		if value == "" {
			return &Error{Key: s.fileKey, Source: from, Msg: fmt.Sprintf("%s is empty", path)}
		}
		*s.value = value
		sources[s.key] = s.fileKey + " " + path
	}
	return nil
}

func sourceOf(sources map[string]string) func(key string) string {
	return func(key string) string {
		if s, ok := sources[key]; ok {
			return s
		}
		return "default"
	}
}

// unknownEnv warns about MINITWIT_* variables that no setting reads: most
// are typos, and a typo silently falling back to a default is hard to spot.
func unknownEnv(names []string, settings []Setting) []string {
	var known []string
	for _, s := range settings {
		if s.Env != "" {
			known = append(known, s.Env)
		}
	}
	var warnings []string
	for _, name := range slices.Sorted(slices.Values(names)) {
		if !strings.HasPrefix(name, envPrefix) || slices.Contains(known, name) {
			continue
		}
		w := fmt.Sprintf("config: unknown environment variable %s ignored", name)
		if guess := Closest(name, known); guess != "" {
			w += "; did you mean " + guess + "?"
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// Closest returns the candidate nearest to name within two edits (one for
// names of up to three letters, none for a single letter, where everything
// is near), or "" when none is: the "did you mean" of unknown keys and
// variables here and of unknown commands and flags in cmd/minitwit. Ties
// go to the candidate sorting first, so the answer does not depend on the
// order the candidates come in.
func Closest(name string, candidates []string) string {
	best, bestDist := "", min(2, len(name)/2)+1
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if d := editDistance(name, c); d < bestDist && c != name {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes;
// variable names are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
