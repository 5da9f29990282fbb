package store

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestValidateNewUsername(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"alice", "Roger Histand", "Jürgen 日本 🐦", "o'neil", "a.b-c_d"} {
		if err := ValidateNewUsername(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"alice\u200b",      // zero-width space
		"ali\u200dce",      // zero-width joiner
		"\u202eecila",      // right-to-left override
		"alice\u2066",      // bidi isolate
		"\ufeffalice",      // byte-order mark
		" alice", "alice ", // leading / trailing space
		"ali\u00a0ce",     // no-break space
		"ali\tce",         // control
		"Ju\u0308rgen",    // decomposed: not NFC
		"public", "Admin", // route names
		"a/b", "",
	} {
		if err := ValidateNewUsername(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q accepted (err %v)", bad, err)
		}
	}
}

func TestNameTakenFold(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "data.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(func(w *WriteTx) error { _, err := w.Register("Alice", "a@b", "h"); return err }); err != nil {
		t.Fatal(err)
	}
	s.View(func(r *ReadTx) error {
		for _, n := range []string{"alice", "ALICE", "Alice"} {
			if got, ok := r.NameTakenFold(n); !ok || got != "Alice" {
				t.Errorf("%q: %q %v, want Alice", n, got, ok)
			}
		}
		if _, ok := r.NameTakenFold("alicia"); ok {
			t.Error("alicia taken")
		}
		return nil
	})
}

func TestValidateEmail(t *testing.T) {
	t.Parallel()
	if err := ValidateEmail("a@example.com"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"a@b\x00", "a@b\nBcc: x@y", "a@b\u2028", "a\u200b@b"} {
		if ValidateEmail(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
