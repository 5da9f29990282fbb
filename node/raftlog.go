package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// raftLogger routes hashicorp/raft's hclog output into the node's slog
// logger, so Raft's lines share the node's format, level and destinations.
func raftLogger(log *slog.Logger) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "raft", Output: io.Discard, Level: hclog.Debug})
	l.RegisterSink(hclogSink{log: log.With("component", "raft")})
	return l
}

type hclogSink struct{ log *slog.Logger }

func (s hclogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	var lvl slog.Level
	switch level {
	case hclog.Trace, hclog.Debug:
		lvl = slog.LevelDebug
	case hclog.Info:
		lvl = slog.LevelInfo
	case hclog.Warn:
		lvl = slog.LevelWarn
	default:
		lvl = slog.LevelError
	}
	if !s.log.Enabled(context.Background(), lvl) {
		return
	}
	attrs := make([]slog.Attr, 0, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		key, value := fmt.Sprint(args[i]), args[i+1]
		if key == "node" { // our logger already carries "node": keep JSON keys unique
			key = "raft_node"
		}
		if f, ok := value.(hclog.Format); ok && len(f) > 0 {
			value = fmt.Sprintf(fmt.Sprint(f[0]), f[1:]...)
		}
		attrs = append(attrs, slog.String(key, fmt.Sprint(value)))
	}
	s.log.LogAttrs(context.Background(), lvl, msg, attrs...)
}
