package ops

import (
	"io"
	"log/slog"
)

// NewLogger returns the node's structured logger: JSON lines with stable
// keys (node, req_id, route, status, dur_ms, user). Secrets never go into a
// log line; callers pass names, not values.
func NewLogger(w io.Writer, level slog.Leveler, nodeID string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(h).With("node", nodeID)
}
