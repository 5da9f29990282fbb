package config

import "strings"

// Error is a configuration problem. Its message is one line that names the
// key and where the bad value came from, so an operator can act on it without
// reading code.
type Error struct {
	// Key is the dotted key at fault, e.g. "api.max_no"; empty when the
	// problem is the whole file (a syntax error, a missing file).
	Key string
	// Source says where the value came from: an environment variable
	// ("MINITWIT_HTTP_ADDR"), a flag ("--http-addr"), "file /path.toml",
	// "default", or a *_file key and path for a secret read from a file.
	// Empty when unknown, as for Validate called on its own.
	Source string
	// Msg says what is wrong; it never contains a secret.
	Msg string
}

func (e *Error) Error() string {
	var where string
	switch {
	case e.Key == "":
		where = e.Source
	case e.Source == "":
		where = e.Key
	case strings.HasPrefix(e.Source, envPrefix) || strings.HasPrefix(e.Source, "--"):
		// A variable or flag names exactly one key, so it is the clearer name.
		where = e.Source
	default:
		where = e.Key + " (" + e.Source + ")"
	}
	// Messages can embed OS or TOML errors; keep the promise of one line.
	return strings.ReplaceAll("config: "+where+": "+e.Msg, "\n", " ")
}
