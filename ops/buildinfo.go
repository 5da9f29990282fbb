package ops

import "runtime"

// BuildInfo describes the running binary. The Makefile stamps Version,
// Commit and Date with -ldflags; a plain `go run` leaves them "dev".
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"build_date"`
	GoVersion string `json:"go_version"`
}

// NewBuildInfo fills empty fields with "dev"/"unknown" and the Go version.
func NewBuildInfo(version, commit, date string) BuildInfo {
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return BuildInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
}
