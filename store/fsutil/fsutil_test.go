package fsutil_test

import (
	"os"
	"path/filepath"
	"testing"

	"minitwit/store/fsutil"
)

// WriteFile replaces a file's contents (through a temporary file renamed
// over it), leaves it readable by its owner
// only, and reports a folder that does not exist instead of writing
// nothing silently.
func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "key.pem")
	for _, data := range []string{"a longer first version\n", "second\n"} {
		if err := fsutil.WriteFile(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != data {
			t.Errorf("file holds %q, want %q", got, data)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Errorf("the folder holds %d names, want only the file (no temporary file left)", len(names))
	}
	if err := fsutil.WriteFile(filepath.Join(dir, "missing", "f"), []byte("x")); err == nil {
		t.Error("WriteFile into a missing folder: no error")
	}
	if err := fsutil.SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("SyncDir of a missing folder: no error")
	}
}
