package config

import (
	"fmt"
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
// selector first, derived from the key table. The command line registers one
// flag per entry with a non-empty Flag. It returns a new slice on each call,
// so callers may modify it.
func Settings() []Setting {
	out := []Setting{{Flag: configFlag, Env: configEnv, Usage: "read configuration from TOML `file` (see minitwit.example.toml)"}}
	for _, k := range table() {
		if k.flagName != "" || k.envName != "" {
			out = append(out, Setting{Key: k.name, Flag: k.flagName, Env: k.envName, Usage: k.usage})
		}
	}
	return out
}

// set stores a raw string from a flag or environment variable under key.
func set(c *Config, name, raw string) error {
	k, ok := lookup(name)
	if !ok {
		return fmt.Errorf("not a configuration key")
	}
	return k.set(c, raw)
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

// secrets lists the secret keys of the table with their *_file twins.
func secrets(c *Config) []secret {
	var out []secret
	for _, k := range table() {
		if k.secretFile == "" {
			continue
		}
		f, _ := lookup(k.secretFile)
		out = append(out, secret{k.name, f.name, k.field(c).(*string), f.field(c).(*string)})
	}
	return out
}

// fileKeys returns every key the TOML file may hold, tables included.
func fileKeys() map[string]bool {
	keys := map[string]bool{}
	for _, k := range table() {
		name := k.name
		for {
			keys[name] = true
			i := strings.LastIndexByte(name, '.')
			if i < 0 {
				break
			}
			name = name[:i]
		}
	}
	return keys
}
