//go:build e2e

package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncryptedBackupE2E: `minitwit backup keygen` writes a 0600 key;
// with backup.encryption_key_file set, `minitwit backup` (online and
// offline) writes encrypted files that restore with the key and give the
// same state. Without the key, with another key, or with one byte changed,
// restore says so in one line and leaves no data dir behind.
func TestEncryptedBackupE2E(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, other := filepath.Join(dir, "backup.key"), filepath.Join(dir, "other.key")
	for _, k := range []string{key, other} {
		if code, out := runTool("backup", "keygen", k); code != 0 || !strings.Contains(out, "public key: age1") {
			t.Fatalf("keygen: %d %s", code, out)
		}
	}
	if info, err := os.Stat(key); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info.Mode(), err)
	}
	if code, out := runTool("backup", "keygen", key); code != 1 || !strings.Contains(out, "exists") {
		t.Errorf("keygen over an existing key: %d %s", code, out)
	}

	orig := newClNode(t, "node1", "")
	orig.start(t)
	orig.waitReady(t)
	req, _ := http.NewRequest(http.MethodPost, orig.base()+"/api/register", strings.NewReader(`{"username":"carol","email":"c@x","pwd":"p"}`))
	req.Header.Set("Authorization", "Basic c2ltdWxhdG9yOnN1cGVyX3NhZmUh")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("register: %v %v", resp, err)
	}
	resp.Body.Close()
	cfg := filepath.Join(dir, "minitwit.toml")
	os.WriteFile(cfg, []byte("data_dir = \""+orig.dataDir+"\"\nraft_addr = \""+orig.raftAddr+"\"\n[backup]\nencryption_key_file = \"backup.key\"\n"), 0o600)

	online, offline := filepath.Join(dir, "online.mtb"), filepath.Join(dir, "offline.mtb")
	if code, out := runTool("backup", "--config", cfg, "--out", online); code != 0 || !strings.Contains(out, "encrypted backup") || !strings.Contains(out, "by the running node") {
		t.Fatalf("online backup: %d %s", code, out)
	}
	orig.stop(t)
	if code, out := runTool("backup", "--config", cfg, "--out", offline); code != 0 || !strings.Contains(out, "encrypted backup") {
		t.Fatalf("offline backup: %d %s", code, out)
	}
	for _, file := range []string{online, offline} {
		b, _ := os.ReadFile(file)
		if !bytes.HasPrefix(b, []byte("age-encryption.org/v1\n")) || bytes.Contains(b, []byte("MTWTBKUP")) {
			t.Fatalf("%s is not encrypted: %.30q", file, b)
		}
	}

	refused := func(name string, want string, args ...string) {
		t.Helper()
		target := filepath.Join(dir, "target-"+strings.ReplaceAll(name, " ", "-"))
		code, out := runTool(append([]string{"restore", "--data-dir", target}, args...)...)
		if code != 1 || !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("restore %s: %d %q, want one line saying %q", name, code, out, want)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("restore %s left %s behind", name, target)
		}
	}
	refused("without a key", "the backup is encrypted", online)
	refused("with another key", "the key does not open this backup", "--key-file", other, online)
	data, _ := os.ReadFile(online)
	for name, at := range map[string]int{"a data byte flipped": len(data) / 2, "the last byte flipped": len(data) - 1} {
		bad := bytes.Clone(data)
		bad[at] ^= 1
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".mtb")
		os.WriteFile(path, bad, 0o600)
		refused(name, "changed or damaged", "--key-file", key, path)
	}
	truncated := filepath.Join(dir, "truncated.mtb")
	os.WriteFile(truncated, data[:len(data)-10], 0o600)
	refused("cut short", "not a valid MiniTwit backup", "--key-file", key, truncated)

	// The key from --key-file, and from the configuration.
	for _, args := range [][]string{{"--key-file", key, online}, {"--config", cfg, offline}} {
		restored := newClNode(t, "restored", "")
		os.Remove(restored.dataDir)
		if code, out := runTool(append([]string{"restore", "--data-dir", restored.dataDir}, args...)...); code != 0 {
			t.Fatalf("restore %v: %d %s", args, code, out)
		}
		clCompareDigests(t, []*clNode{orig, restored})
		restored.start(t)
		restored.waitReady(t)
		if !userExists(t, restored, "carol") {
			t.Errorf("restored from %v: carol is missing", args)
		}
		restored.stop(t)
	}
}
