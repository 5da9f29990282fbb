package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"minitwit/store"
)

// A second factor: enrolled, each step and each recovery code accepted
// once, refused when malformed, gone after a reset.
func TestTOTPLifecycle(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	mustUpdate(t, s, func(w *store.WriteTx) error {
		_, err := w.RegisterAdmin("root", "r@x", "h")
		return err
	})
	try := func(fn func(w *store.WriteTx) error) error {
		var got error
		mustUpdate(t, s, func(w *store.WriteTx) error { got = fn(w); return nil })
		return got
	}
	use := func(step uint64, recovery string) (uint64, error) {
		var left uint64
		err := try(func(w *store.WriteTx) error { var err error; left, err = w.UseTOTP("root", step, recovery); return err })
		return left, err
	}
	if _, err := use(1, ""); !errors.Is(err, store.ErrNoTOTP) {
		t.Fatalf("use before enrolling: %v", err)
	}
	for name, fn := range map[string]func(w *store.WriteTx) error{
		"empty secret":   func(w *store.WriteTx) error { return w.EnrollTOTP("root", "", 1, nil) },
		"huge secret":    func(w *store.WriteTx) error { return w.EnrollTOTP("root", strings.Repeat("A", 200), 1, nil) },
		"empty hash":     func(w *store.WriteTx) error { return w.EnrollTOTP("root", "S", 1, []string{""}) },
		"too many codes": func(w *store.WriteTx) error { return w.EnrollTOTP("root", "S", 1, make([]string, 40)) },
	} {
		if err := try(fn); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := try(func(w *store.WriteTx) error { return w.EnrollTOTP("nobody", "S", 1, nil) }); !errors.Is(err, store.ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
	if err := try(func(w *store.WriteTx) error { return w.EnrollTOTP("root", "SECRET", 10, []string{"a", "b"}) }); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		step     uint64
		recovery string
		left     uint64
		want     error
	}{
		{10, "", 2, store.ErrCodeUsed}, // the enrolling code's step
		{9, "", 2, store.ErrCodeUsed},
		{11, "", 2, nil},
		{11, "", 2, store.ErrCodeUsed},
		{0, "a", 1, nil},
		{0, "a", 1, store.ErrCodeUsed},
		{0, "zzz", 1, store.ErrCodeUsed},
		{12, "", 1, nil},
	}
	for _, c := range steps {
		left, err := use(c.step, c.recovery)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) || left != c.left {
			t.Errorf("use(%d, %q): %d left, %v; want %d, %v", c.step, c.recovery, left, err, c.left, c.want)
		}
	}
	var snap store.TOTP
	if err := s.View(func(r *store.ReadTx) error {
		u, err := r.UserByName("root")
		if err != nil {
			return err
		}
		var ok bool
		if snap, ok, err = r.TOTP(u.ID); !ok && err == nil {
			err = errors.New("no second factor stored")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if snap.Secret != "SECRET" || snap.LastStep != 12 || !slices.Equal(snap.RecoveryHashes, []string{"b"}) {
		t.Errorf("stored %+v", snap)
	}
	var had bool
	if err := try(func(w *store.WriteTx) error { var err error; had, err = w.ResetTOTP("root"); return err }); err != nil || !had {
		t.Fatalf("reset: %t %v", had, err)
	}
	if err := try(func(w *store.WriteTx) error { var err error; had, err = w.ResetTOTP("root"); return err }); err != nil || had {
		t.Fatalf("second reset: %t %v", had, err)
	}
	if _, err := use(13, ""); !errors.Is(err, store.ErrNoTOTP) {
		t.Fatalf("use after reset: %v", err)
	}
}
