package ops_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"minitwit/ops"
)

// requestLine logs one request line the way httpui does, in the node's
// JSON format, to w.
func requestLine(w *bytes.Buffer) {
	l := ops.NewLogger(w, slog.LevelInfo, "n1")
	l.Info("request", "req_id", "abc-1", "method", "GET", "route", "GET /{username}", "path", "/alice smith",
		"status", 200, "bytes", 512, "dur_ms", 1.25, "ip", "127.0.0.1", "user", `say "hi"`,
		slog.Group("raft", "term", 3))
}

// TestLogFormatJSON: a JSON line carries every request field under its key.
func TestLogFormatJSON(t *testing.T) {
	var raw bytes.Buffer
	requestLine(&raw)
	var out bytes.Buffer
	w := ops.ConsoleWriter(&out, ops.ResolveLogFormat("json", &out))
	w.Write(raw.Bytes())
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %q: %v", out.String(), err)
	}
	for k, v := range map[string]any{"level": "INFO", "msg": "request", "node": "n1", "req_id": "abc-1", "method": "GET",
		"route": "GET /{username}", "path": "/alice smith", "status": 200.0, "bytes": 512.0, "dur_ms": 1.25, "ip": "127.0.0.1"} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

// TestLogFormatText: text is one line per record, time, level and message
// first, then the fields in their order, quoted where they need it.
func TestLogFormatText(t *testing.T) {
	var raw bytes.Buffer
	requestLine(&raw)
	requestLine(&raw)
	var out bytes.Buffer
	w := ops.ConsoleWriter(&out, ops.ResolveLogFormat("TEXT", &out))
	// In two pieces, split inside the first line: the writer waits for the
	// rest of a line.
	b := raw.Bytes()
	w.Write(b[:20])
	w.Write(b[20:])
	w.Write([]byte("not json\n"))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got %q", out.String())
	}
	want := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} INFO  request node=n1 req_id=abc-1 method=GET route="GET /\{username\}" path="/alice smith" status=200 bytes=512 dur_ms=1\.25 ip=127\.0\.0\.1 user="say \\"hi\\"" raft\.term=3$`)
	for _, l := range lines[:2] {
		if !want.MatchString(l) {
			t.Errorf("text line\n%s\ndoes not match\n%s", l, want)
		}
	}
	if lines[2] != "not json" {
		t.Errorf("a line that is not JSON came out as %q", lines[2])
	}
}

// TestLogFormatAuto: auto is JSON when the output is not a terminal (a
// buffer, a file, a pipe); an unknown value is JSON too.
func TestLogFormatAuto(t *testing.T) {
	var b bytes.Buffer
	for _, f := range []string{"auto", "", "json", "bogus"} {
		if got := ops.ResolveLogFormat(f, &b); got != ops.LogFormatJSON {
			t.Errorf("ResolveLogFormat(%q, buffer) = %q, want json", f, got)
		}
	}
	if got := ops.ResolveLogFormat("text", &b); got != ops.LogFormatText {
		t.Errorf("text = %q", got)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if got := ops.ResolveLogFormat("auto", null); got != ops.LogFormatJSON {
		t.Errorf("auto on %s (a file, not a terminal) = %q, want json", os.DevNull, got)
	}
}
