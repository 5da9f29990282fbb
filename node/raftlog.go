package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
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
	lvl = routineRaftLevel(lvl, msg, args)
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

// routineRaftLevel lowers the level of Raft lines that are routine here,
// so that a WARN or ERROR in the log is worth someone's attention:
//
//   - "heartbeat timeout reached, starting election" with no leader known
//     before: every node's first election after start says this at WARN,
//     a single node's included. INFO; losing a known leader stays WARN.
//   - "failed to take snapshot" for ErrNothingNewToSnapshot: a node
//     started on restored data (or idle since its last snapshot) has
//     nothing new to snapshot; the node asks for a snapshot at start and
//     Raft logs the refusal at ERROR. DEBUG.
func routineRaftLevel(lvl slog.Level, msg string, args []any) slog.Level {
	switch msg {
	case "heartbeat timeout reached, starting election":
		if raftArg(args, "last-leader-id") == "" && raftArg(args, "last-leader-addr") == "" {
			return slog.LevelInfo
		}
	case "failed to take snapshot":
		if err, ok := raftArgValue(args, "error").(error); ok && errors.Is(err, raft.ErrNothingNewToSnapshot) {
			return slog.LevelDebug
		}
	}
	return lvl
}

func raftArgValue(args []any, key string) any {
	for i := 0; i+1 < len(args); i += 2 {
		if fmt.Sprint(args[i]) == key {
			return args[i+1]
		}
	}
	return nil
}

func raftArg(args []any, key string) string {
	if v := raftArgValue(args, key); v != nil {
		return fmt.Sprint(v)
	}
	return ""
}
