//go:build e2e

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLogFile: with log.file set, the node writes the same JSON lines as
// to stdout into that file (request lines included), and a clean stop
// leaves them all there.
func TestLogFile(t *testing.T) {
	t.Parallel()
	logPath := filepath.Join(t.TempDir(), "logs", "minitwit.log")
	s := startServer(t, t.TempDir(), "MINITWIT_LOG_FILE="+logPath)
	resp, err := http.Get(s.base + "/public")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.wait(t); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.Contains(text, `"route":"GET /public"`) || !strings.Contains(text, `"msg":"node stopped"`) {
		t.Fatalf("the log file lacks the request or the stop line:\n%s", text)
	}
	if !strings.Contains(s.logs.String(), `"route":"GET /public"`) {
		t.Fatal("stdout lacks the request line")
	}
}
