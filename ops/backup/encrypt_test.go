package backup_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minitwit/ops/backup"
)

func newKey(t *testing.T) *backup.Key {
	t.Helper()
	k, err := backup.GenerateKeyFile(filepath.Join(t.TempDir(), "backup.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func encryptedSample(t *testing.T, k *backup.Key, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	h := backup.Header{Index: 7, Created: time.Now().UTC(), Node: "node1", Size: int64(len(data))}
	if err := backup.WriteEncrypted(&buf, k, h, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readWith(file []byte, k *backup.Key) ([]byte, error) {
	r, err := backup.Open(bytes.NewReader(file), k)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	_, err = backup.Read(r, &out)
	return out.Bytes(), err
}

func TestEncryptedRoundTrip(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	data := payload()
	file := encryptedSample(t, k, data)
	if bytes.Contains(file, []byte("MTWTBKUP")) || bytes.Contains(file, []byte("node1")) {
		t.Fatal("the encrypted file shows the backup's magic or header in the clear")
	}
	// A key read back from its file opens it.
	k2, err := backup.LoadKey(k.Path)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Recipient() != k.Recipient() || !strings.HasPrefix(k.Recipient(), "age1") {
		t.Fatalf("recipient %q read back as %q", k.Recipient(), k2.Recipient())
	}
	got, err := readWith(file, k2)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, err %v", len(got), err)
	}
	// A plain backup still reads with or without a key.
	if got, err := readWith(sample(t, data), k); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("plain backup with a key: %d bytes, %v", len(got), err)
	}
}

func TestEncryptedNeedsTheRightKey(t *testing.T) {
	t.Parallel()
	file := encryptedSample(t, newKey(t), payload())
	if _, err := readWith(file, nil); !errors.Is(err, backup.ErrEncrypted) {
		t.Errorf("no key: %v, want ErrEncrypted", err)
	}
	// Given to Read directly, still encrypted.
	if _, err := backup.Read(bytes.NewReader(file), io.Discard); !errors.Is(err, backup.ErrEncrypted) {
		t.Errorf("Read of an encrypted file: %v, want ErrEncrypted", err)
	}
	if _, err := readWith(file, newKey(t)); !errors.Is(err, backup.ErrWrongKey) {
		t.Errorf("another key: %v, want ErrWrongKey", err)
	}
}

// TestTamperedEncryptedIsRefused flips one byte at a time across the file
// (header, nonce, first, middle and last chunk) and cuts it short: every
// change is refused as corrupt or as not opening with the key, never read.
func TestTamperedEncryptedIsRefused(t *testing.T) {
	t.Parallel()
	k := newKey(t)
	file := encryptedSample(t, k, payload())
	header := bytes.Index(file, []byte("\n---"))
	at := map[string]int{
		"recipient stanza": 60, "header MAC": header + 6, "nonce": header + 50,
		"first chunk": header + 200, "middle": len(file) / 2, "last chunk": len(file) - 3,
	}
	for name, i := range at {
		f := bytes.Clone(file)
		f[i] ^= 0x01
		_, err := readWith(f, k)
		if !errors.Is(err, backup.ErrCorrupt) && !errors.Is(err, backup.ErrWrongKey) {
			t.Errorf("byte %d (%s) flipped: %v, want a refusal", i, name, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the refusal is more than one line: %q", name, err)
		}
	}
	for _, n := range []int{len(file) - 1, len(file) - 100, len(file) / 2} {
		if _, err := readWith(file[:n], k); !errors.Is(err, backup.ErrCorrupt) {
			t.Errorf("cut to %d of %d bytes: %v, want ErrCorrupt", n, len(file), err)
		}
	}
	if _, err := readWith(append(bytes.Clone(file), 0), k); !errors.Is(err, backup.ErrCorrupt) {
		t.Errorf("a byte appended: %v, want ErrCorrupt", err)
	}
}

func TestKeyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	k, err := backup.GenerateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if _, err := backup.GenerateKeyFile(path); err == nil {
		t.Error("GenerateKeyFile overwrote an existing key")
	}
	if k2, err := backup.LoadKey(path); err != nil || k2.Recipient() != k.Recipient() {
		t.Errorf("reloaded: %v", err)
	}
	// age-keygen's own format: comments, then the identity.
	ageKeygen := filepath.Join(dir, "age-keygen.txt")
	os.WriteFile(ageKeygen, []byte("# created: 2026-01-01T00:00:00Z\n# public key: age1x\nAGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n"), 0o600)
	if _, err := backup.LoadKey(ageKeygen); err != nil {
		t.Errorf("age-keygen's format: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("AGE-SECRET-KEY-1NOTAKEYATALL-secret-stuff\n"), 0o600)
	if _, err := backup.LoadKey(bad); err == nil || strings.Contains(err.Error(), "secret-stuff") {
		t.Errorf("a bad key file: %v (must fail without quoting it)", err)
	}
	if _, err := backup.LoadKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file loaded")
	}
}
