package ops

import (
	"io"
	"log/slog"

	"gopkg.in/natefinch/lumberjack.v2"
)

// NewLogger returns the node's structured logger: JSON lines with stable
// keys (node, req_id, route, status, dur_ms, user). Secrets never go into a
// log line; callers pass names, not values.
func NewLogger(w io.Writer, level slog.Leveler, nodeID string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(h).With("node", nodeID)
}

// NewRotatingFile returns a log file that is rotated at maxSizeMB, keeping
// maxFiles old files, so logs never take more than about
// (maxFiles+1) × maxSizeMB of disk: the course groups' logs that filled a
// disk until nobody could log in cannot happen.
func NewRotatingFile(path string, maxSizeMB, maxFiles int) io.WriteCloser {
	return &lumberjack.Logger{Filename: path, MaxSize: maxSizeMB, MaxBackups: maxFiles, Compress: false}
}
