//go:build e2e

package main

// End-to-end tests: they build the real binary and drive `minitwit serve`
// processes over HTTP, killing and restarting them. They are the slow
// tier, behind the e2e build tag: `make test` runs them (go test -tags
// e2e), `make test-short` and a plain `go test ./...` do not.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"minitwit/node/nodetest"
	"minitwit/ops/testbuf"
	"minitwit/ops/testwait"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "minitwit-e2e-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "minitwit")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building minitwit:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one `minitwit serve` process.
type server struct {
	cmd  *exec.Cmd
	base string
	done chan error
	logs *testbuf.Buffer
}

// freeAddr returns a loopback address for a process to listen on; see
// nodetest.FreePort for why it is not a port the kernel chose.
func freeAddr(t testing.TB) string {
	t.Helper()
	return nodetest.FreeAddr(t)
}

// startServer runs serve on dataDir with free loopback ports and waits until
// /readyz says ready.
func startServer(t testing.TB, dataDir string, env ...string) *server {
	t.Helper()
	httpAddr := freeAddr(t)
	cmd := exec.Command(binPath, "serve", "--data-dir", dataDir, "--http-addr", httpAddr, "--raft-addr", freeAddr(t), "--node-id", "e2e")
	cmd.Env = append(append(os.Environ(), "MINITWIT_API_MAX_NO=1000000"), env...)
	s := &server{cmd: cmd, base: "http://" + httpAddr, done: make(chan error, 1), logs: &testbuf.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	testwait.UntilNil(t, "serve to be ready", func() error {
		select {
		case err := <-s.done:
			t.Fatalf("serve exited before it was ready: %v\n%s", err, s.logs)
		default:
		}
		resp, err := readyClient.Get(s.base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %d", resp.StatusCode)
		}
		return nil
	})
	return s
}

var readyClient = &http.Client{Timeout: 2 * time.Second}

func (s *server) wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(testwait.Timeout):
		t.Fatal("serve did not exit")
		return nil
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

func post(base, path string, body any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/api"+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func userMessages(t *testing.T, base, user string) map[string]bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/msgs/"+url.PathEscape(user)+"?no=1000000", nil)
	req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []struct{ Content string }
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range msgs {
		out[m.Content] = true
	}
	return out
}

// writeUntilStopped has writers post numbered messages until a request
// fails, counts each acknowledged (204) one in count, and returns them per
// user.
func writeUntilStopped(base string, users []string, count *atomic.Int64) map[string][]string {
	var mu sync.Mutex
	acked := map[string][]string{}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				text := fmt.Sprintf("%s #%d", u, i)
				status, err := post(base, "/msgs/"+url.PathEscape(u), map[string]string{"content": text})
				if err != nil {
					return // the server is gone
				}
				if status == http.StatusNoContent {
					mu.Lock()
					acked[u] = append(acked[u], text)
					mu.Unlock()
					count.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

// signalDuringWrites has users post through s until at least atLeast
// writes were acknowledged, sends s sig while they are still busy, and
// returns the writes acknowledged per user and how serve exited.
func signalDuringWrites(t *testing.T, s *server, users []string, atLeast int64, sig os.Signal) (map[string][]string, error) {
	t.Helper()
	done := make(chan map[string][]string)
	var count atomic.Int64
	go func() { done <- writeUntilStopped(s.base, users, &count) }()
	testwait.Until(t, fmt.Sprintf("%d acknowledged writes", atLeast), func() bool { return count.Load() >= atLeast })
	s.cmd.Process.Signal(sig)
	acked := <-done
	return acked, s.wait(t)
}

func registerUsers(t *testing.T, base string, n int) []string {
	t.Helper()
	var users []string
	for i := 0; i < n; i++ {
		u := fmt.Sprintf("writer %d", i)
		if s, err := post(base, "/register", map[string]string{"username": u, "email": "w@x", "pwd": "p"}); err != nil || s != 204 {
			t.Fatalf("register %s: %d %v", u, s, err)
		}
		users = append(users, u)
	}
	return users
}

func checkAcked(t *testing.T, base string, acked map[string][]string) int {
	t.Helper()
	total := 0
	for u, texts := range acked {
		have := userMessages(t, base, u)
		for _, text := range texts {
			if !have[text] {
				t.Errorf("acknowledged write lost: %q", text)
			}
		}
		total += len(texts)
	}
	return total
}

func TestKill9DuringWritesLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	users := registerUsers(t, s.base, 8)
	// Enough writes that the kill lands among them, however slow the
	// machine; how many a second it takes is the benchmarks' business.
	acked, _ := signalDuringWrites(t, s, users, 100, syscall.SIGKILL)

	s2 := startServer(t, dir)
	n := checkAcked(t, s2.base, acked)
	t.Logf("%d acknowledged writes survived kill -9", n)
}

// TestTornDataFileIsRebuiltAfterKill9 proves the data file's durability
// rule: after an unclean stop the file is not trusted (it commits without
// fsync) but rebuilt from the Raft snapshot and log, so even a file
// destroyed after the kill loses nothing acknowledged.
func TestTornDataFileIsRebuiltAfterKill9(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	users := registerUsers(t, s.base, 4)
	acked, _ := signalDuringWrites(t, s, users, 50, syscall.SIGKILL)
	if _, err := os.Stat(filepath.Join(dir, "data-file-unsynced")); err != nil {
		t.Fatalf("the node was not in unsynced mode when killed: %v", err)
	}
	// Tear the file: keep its first half, then garbage.
	path := filepath.Join(dir, "minitwit.db")
	fi, _ := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(bytes.Repeat([]byte{0xAB}, int(fi.Size()/2)), fi.Size()/2)
	f.Close()

	s2 := startServer(t, dir)
	checkAcked(t, s2.base, acked)
	if !strings.Contains(s2.logs.String(), "rebuilding the data file") {
		t.Fatalf("restart did not rebuild the data file:\n%s", s2.logs)
	}
	s2.cmd.Process.Signal(syscall.SIGTERM)
	if err := s2.wait(t); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data-file-unsynced")); !os.IsNotExist(err) {
		t.Fatal("a clean stop must sync the data file and remove the marker")
	}
}

func TestSIGTERMShutsDownCleanlyDuringWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	users := registerUsers(t, s.base, 4)
	acked, err := signalDuringWrites(t, s, users, 50, syscall.SIGTERM)
	if err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; want status 0\n%s", err, s.logs)
	}
	s2 := startServer(t, dir)
	checkAcked(t, s2.base, acked)
	s2.cmd.Process.Signal(syscall.SIGINT)
	if err := s2.wait(t); err != nil {
		t.Fatalf("serve exited with %v after SIGINT; want status 0", err)
	}
}

func TestServeRefusesUnknownConfigKeyWithOneLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(path, []byte("http_addr = \"127.0.0.1:0\"\n[simulator]\npasword = \"x\"\n"), 0o600)
	cmd := exec.Command(binPath, "serve", "--config", path)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve started with an unknown key")
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "simulator.pasword") {
		t.Fatalf("want one line naming simulator.pasword, got:\n%s", out)
	}
}
