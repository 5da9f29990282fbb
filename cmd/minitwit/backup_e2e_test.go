//go:build e2e

package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"minitwit/ops/backup"
	"minitwit/ops/simulate"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// runTool runs a minitwit command in process and returns its exit code
// and everything it printed.
func runTool(args ...string) (int, string) {
	out, errOut, code := runCLI(args...)
	return code, out + errOut
}

// apiAnswers collects answers that depend on the whole state: the public
// list, and every user's messages and follows.
func apiAnswers(t *testing.T, n *clNode, users []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	get := func(path string) {
		req, _ := http.NewRequest(http.MethodGet, n.base()+path, nil)
		req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out[path] = resp.Status + " " + string(b)
	}
	get("/api/msgs?no=100000")
	for _, u := range users {
		get("/api/msgs/" + url.PathEscape(u) + "?no=100000")
		get("/api/fllws/" + url.PathEscape(u) + "?no=100000")
	}
	return out
}

// TestBackupAndRestoreE2E: a node loaded with the scenario is backed up
// while running (through the node) and after it stopped (from its data
// dir); each backup restored into a fresh data dir gives the same store
// digest and the same API answers. Damaged backups and a non-empty target
// are refused and change nothing.
func TestBackupAndRestoreE2E(t *testing.T) {
	t.Parallel()
	actions := clScenario(t)
	orig := newClNode(t, "node1", "")
	orig.start(t)
	orig.waitReady(t)
	s, err := simulate.Run(context.Background(), actions, simulate.Options{BaseURL: orig.base() + "/api", Concurrency: 8, Timeout: clRequestTimeout})
	if err != nil || s.Errors != 0 {
		t.Fatalf("loading the scenario: %v, %d errors", err, s.Errors)
	}
	users := map[string]bool{}
	for _, a := range actions {
		users[a.User] = true
	}
	var names []string
	for u := range users {
		if len(names) < 40 {
			names = append(names, u)
		}
	}
	want := apiAnswers(t, orig, names)

	dir := t.TempDir()
	online, offline := filepath.Join(dir, "online.mtb"), filepath.Join(dir, "offline.mtb")
	if code, out := runTool("backup", "--out", online, "--data-dir", orig.dataDir, "--addr", orig.raftAddr); code != 0 || !strings.Contains(out, "by the running node") {
		t.Fatalf("online backup: %d %s", code, out)
	}
	orig.stop(t)
	wantScenarioState(t, orig.dataDir)
	if code, out := runTool("backup", "--out", offline, "--data-dir", orig.dataDir); code != 0 || !strings.Contains(out, "stopped node's data dir") {
		t.Fatalf("offline backup: %d %s", code, out)
	}

	for _, file := range []string{online, offline} {
		restored := newClNode(t, "restored", "")
		os.Remove(restored.dataDir) // restore makes it
		if code, out := runTool("restore", "--data-dir", restored.dataDir, file); code != 0 {
			t.Fatalf("restore %s: %d %s", file, code, out)
		}
		restored.start(t)
		restored.waitReady(t)
		got := apiAnswers(t, restored, names)
		for path, w := range want {
			if got[path] != w {
				t.Errorf("%s restored from %s answers differently", path, filepath.Base(file))
				break
			}
		}
		restored.stop(t)
		clCompareDigests(t, []*clNode{orig, restored})
	}

	// Damaged backups are refused and leave nothing behind.
	data, err := os.ReadFile(online)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte{}, data...)
	flipped[len(flipped)/2] ^= 1
	for name, b := range map[string][]byte{"flipped": flipped, "truncated": data[:len(data)*2/3], "not a backup": []byte("hello")} {
		bad := filepath.Join(dir, name)
		os.WriteFile(bad, b, 0o600)
		target := filepath.Join(dir, "target-"+strings.ReplaceAll(name, " ", "-"))
		code, out := runTool("restore", "--data-dir", target, bad)
		if code != 1 || !strings.Contains(out, "not a valid MiniTwit backup") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("restoring a %s backup: %d %q", name, code, out)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("restoring a %s backup left %s behind", name, target)
		}
	}
	// Restoring over existing data is refused; the data stays as it was.
	if code, out := runTool("restore", "--data-dir", orig.dataDir, online); code != 1 || !strings.Contains(out, "not empty") {
		t.Errorf("restore over existing data: %d %s", code, out)
	}
	clCompareDigests(t, []*clNode{orig, orig})
}

// wantScenarioState checks the state the whole course scenario leaves in
// a stopped node's data file, exactly (as node.TestScenarioReplay does in
// process).
func wantScenarioState(t *testing.T, dataDir string) {
	t.Helper()
	st, err := store.Open(filepath.Join(dataDir, "minitwit.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(func(r *store.ReadTx) error {
		c := r.Counts()
		latest, _ := r.Latest()
		if c.Users-c.Admins != 200 || c.Messages != 11306 || c.Follows != 6265 || latest != 25921 {
			t.Errorf("after the scenario: %+v, latest %d; want 200 users besides the admin, 11306 messages, 6265 follows, latest 25921", c, latest)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// userExists asks the API whether user exists (200 with messages, or 404).
func userExists(t *testing.T, n *clNode, user string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.base()+"/api/msgs/"+url.PathEscape(user), nil)
	req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestRestoreClusterCLI: `minitwit restore --cluster` refuses without a
// confirmation, and with --yes replaces the running cluster's state.
func TestRestoreClusterCLI(t *testing.T) {
	t.Parallel()
	nodes := clStartCluster(t)
	register := func(name string) {
		t.Helper()
		a := simulate.Action{ID: 1, Command: simulate.CmdRegister, User: name, Arg: name + "@x", Password: "p"}
		if s, err := simulate.Run(context.Background(), []simulate.Action{a}, simulate.Options{BaseURL: nodes[0].base() + "/api", Timeout: clRequestTimeout}); err != nil || s.Errors != 0 {
			t.Fatalf("register %s: %v %+v", name, err, s)
		}
	}
	register("kept")
	file := filepath.Join(t.TempDir(), "cluster.mtb")
	if code, out := runTool("backup", "--out", file, "--data-dir", nodes[1].dataDir, "--addr", nodes[1].raftAddr); code != 0 {
		t.Fatalf("backup: %d %s", code, out)
	}
	register("lost")
	args := []string{"restore", "--cluster", "--data-dir", nodes[2].dataDir, "--addr", nodes[2].raftAddr, file}
	if code, out := runTool(args...); code != 1 || !strings.Contains(out, "refusing without --yes") {
		t.Fatalf("restore --cluster without --yes and no terminal: %d %s", code, out)
	}
	if !userExists(t, nodes[0], "lost") {
		t.Fatal("an unconfirmed restore changed the state")
	}
	if code, out := runTool(append([]string{"restore", "--yes"}, args[1:]...)...); code != 0 || !strings.Contains(out, "3 members") {
		t.Fatalf("restore --cluster --yes: %d %s", code, out)
	}
	for _, n := range nodes {
		testwait.Until(t, n.name+" to hold the backup's state", func() bool {
			return !userExists(t, n, "lost") && userExists(t, n, "kept")
		})
	}
}

// TestRestoreFromS3: `minitwit restore` fetches an s3:// backup with the
// configuration's backup.s3 endpoint and credentials (an S3 server in this
// process), and a missing key is a clear error that leaves nothing behind.
func TestRestoreFromS3(t *testing.T) {
	t.Parallel()
	mem := s3mem.New()
	if err := mem.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	defer srv.Close()
	endpoint := strings.TrimPrefix(srv.URL, "http://")

	dir := t.TempDir()
	s := startServer(t, dir)
	register := simulate.Action{ID: 1, Command: simulate.CmdRegister, User: "from s3", Arg: "s3@x", Password: "p"}
	if sum, err := simulate.Run(context.Background(), []simulate.Action{register}, simulate.Options{BaseURL: s.base + "/api", Timeout: clRequestTimeout}); err != nil || sum.Errors != 0 {
		t.Fatalf("register: %v %+v", err, sum)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.wait(t)
	file := filepath.Join(t.TempDir(), "b.mtb")
	if code, out := runTool("backup", "--out", file, "--data-dir", dir); code != 0 {
		t.Fatalf("backup: %s", out)
	}
	target, err := backup.NewS3(backup.S3Options{Endpoint: endpoint, Bucket: "backups", Prefix: "minitwit/", Region: "us-east-1", AccessKey: "k", SecretKey: "s", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(file)
	info, _ := f.Stat()
	if err := target.Put(context.Background(), "b.mtb", f, info.Size()); err != nil {
		t.Fatal(err)
	}
	f.Close()

	conf := filepath.Join(t.TempDir(), "s3.toml")
	os.WriteFile(conf, []byte(`[backup.s3]
endpoint = "`+endpoint+`"
bucket = "backups"
access_key = "k"
secret_key = "s"
insecure = true
`), 0o600)
	missing := filepath.Join(t.TempDir(), "missing")
	if code, out := runTool("restore", "--config", conf, "--data-dir", missing, "s3://backups/minitwit/nope.mtb"); code != 1 {
		t.Fatalf("restoring a missing key: %d %s", code, out)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a failed restore left a data dir behind")
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if code, out := runTool("restore", "--config", conf, "--data-dir", restored, "s3://backups/minitwit/b.mtb"); code != 0 {
		t.Fatalf("restore from s3: %d %s", code, out)
	}
	clCompareDigests(t, []*clNode{{name: "original", dataDir: dir}, {name: "restored", dataDir: restored}})
}
