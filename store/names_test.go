package store

import (
	"errors"
	"path/filepath"
	"strings"
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

// TestResolveUsername: an operator's name means the exact user, else the
// one that folds alike; clashes from before the folded check are refused
// with every spelling, never guessed.
func TestResolveUsername(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "data.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Registered before the folded check, as older data may be.
	if err := s.Update(func(w *WriteTx) error {
		for _, n := range []string{"Alice", "alice", "Jürgen"} {
			if _, err := w.Register(n, "a@b", "h"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.View(func(r *ReadTx) error {
		for name, want := range map[string]string{"alice": "alice", "Alice": "Alice", "JÜRGEN": "Jürgen", "ju\u0308rgen": "Jürgen"} {
			if got, err := r.ResolveUsername(name); err != nil || got != want {
				t.Errorf("ResolveUsername(%q) = %q, %v; want %q", name, got, err, want)
			}
		}
		if _, err := r.ResolveUsername("bob"); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("ResolveUsername(bob): %v, want ErrUnknownUser", err)
		}
		var amb *AmbiguousNameError
		if _, err := r.ResolveUsername("ALICE"); !errors.As(err, &amb) || len(amb.Matches) != 2 ||
			!strings.Contains(err.Error(), `"Alice", "alice"`) {
			t.Errorf("ResolveUsername(ALICE): %v, want both spellings", err)
		}
		return nil
	})
}
