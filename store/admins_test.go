package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"minitwit/store"
)

func names(users []store.User) []string {
	out := []string{}
	for _, u := range users {
		out = append(out, u.Name)
	}
	return out
}

// checkAdmins compares the flag on every user, the admin index and the
// counter with want, the admins in registration order.
func checkAdmins(t *testing.T, r *store.ReadTx, all, want []string) {
	t.Helper()
	for _, n := range all {
		u, err := r.UserByName(n)
		if err != nil {
			t.Fatal(err)
		}
		if u.Admin != slices.Contains(want, n) {
			t.Errorf("%s: admin flag %t", n, u.Admin)
		}
	}
	got, err := r.Admins(100)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(got), want) {
		t.Errorf("admin index lists %q, want %q", names(got), want)
	}
	if c := r.Counts(); c.Admins != uint64(len(want)) {
		t.Errorf("admin counter %d, want %d", c.Admins, len(want))
	}
}

func TestAdminUpkeep(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	all := []string{"a", "b", "root"}
	register(t, s, "a", "b")
	steps := []struct {
		name string
		op   func(w *store.WriteTx) error
		want error
		// admins after the step, in registration order
		admins []string
	}{
		{"first admin", func(w *store.WriteTx) error {
			id, err := w.RegisterFirstAdmin("root", "root@example.com", "h")
			if err == nil && id != 3 {
				return fmt.Errorf("id %d, want 3", id)
			}
			return err
		}, nil, []string{"root"}},
		{"second first admin", func(w *store.WriteTx) error { _, err := w.RegisterFirstAdmin("c", "c@example.com", "h"); return err }, store.ErrAdminExists, []string{"root"}},
		{"revoke the only admin", func(w *store.WriteTx) error { return w.SetAdmin("root", false) }, store.ErrLastAdmin, []string{"root"}},
		{"revoke a non-admin", func(w *store.WriteTx) error { return w.SetAdmin("a", false) }, nil, []string{"root"}},
		{"grant", func(w *store.WriteTx) error { return w.SetAdmin("b", true) }, nil, []string{"b", "root"}},
		{"grant again", func(w *store.WriteTx) error { return w.SetAdmin("b", true) }, nil, []string{"b", "root"}},
		{"revoke one of two", func(w *store.WriteTx) error { return w.SetAdmin("root", false) }, nil, []string{"b"}},
		{"revoke the last again", func(w *store.WriteTx) error { return w.SetAdmin("b", false) }, store.ErrLastAdmin, []string{"b"}},
		{"grant back", func(w *store.WriteTx) error { return w.SetAdmin("root", true) }, nil, []string{"b", "root"}},
		{"grant a", func(w *store.WriteTx) error { return w.SetAdmin("a", true) }, nil, []string{"a", "b", "root"}},
		{"revoke two in one transaction", func(w *store.WriteTx) error {
			if err := w.SetAdmin("a", false); err != nil {
				return err
			}
			return w.SetAdmin("root", false)
		}, nil, []string{"b"}},
	}
	for _, st := range steps {
		err := s.Update(func(w *store.WriteTx) error {
			if err := st.op(w); !errors.Is(err, st.want) || (st.want == nil && err != nil) {
				return fmt.Errorf("got %v, want %v", err, st.want)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		s.View(func(r *store.ReadTx) error {
			checkAdmins(t, r, all, st.admins)
			return nil
		})
		if t.Failed() {
			t.Fatalf("after %s", st.name)
		}
	}
	s.View(func(r *store.ReadTx) error {
		if got, _ := r.Admins(0); got == nil || len(got) != 0 {
			t.Errorf("limit 0 must give an empty, non-nil list: %#v", got)
		}
		if c := r.Counts(); c.Users != 3 {
			t.Errorf("users %d, want 3 (a refused first admin registers nobody)", c.Users)
		}
		return nil
	})
}

func TestRegisterAdminCountsAndIndexes(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	mustUpdate(t, s, func(w *store.WriteTx) error {
		for _, n := range []string{"x", "y"} {
			if _, err := w.RegisterAdmin(n, n+"@example.com", "h"); err != nil {
				return err
			}
		}
		_, err := w.Register("plain", "p@example.com", "h")
		return err
	})
	s.View(func(r *store.ReadTx) error {
		checkAdmins(t, r, []string{"x", "y", "plain"}, []string{"x", "y"})
		if got, _ := r.Admins(1); !slices.Equal(names(got), []string{"x"}) {
			t.Errorf("Admins(1) = %q", names(got))
		}
		if c := r.Counts(); c.Users != 3 {
			t.Errorf("users %d, want 3", c.Users)
		}
		return nil
	})
}

// TestAdminChangesAreVisibleInTheTransaction: the FSM applies a batch of
// commands in one transaction, so a later command must see an earlier
// one's change although the user was read (and cached) before it.
func TestAdminChangesAreVisibleInTheTransaction(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a")
	mustUpdate(t, s, func(w *store.WriteTx) error {
		if _, err := w.UserByName("a"); err != nil {
			return err
		}
		if err := w.SetAdmin("a", true); err != nil {
			return err
		}
		if err := w.SetPasswordHash("a", "new"); err != nil {
			return err
		}
		if u, _ := w.UserByName("a"); !u.Admin || u.PasswordHash != "new" {
			return fmt.Errorf("in the same transaction: %+v", u)
		}
		return nil
	})
	s.View(func(r *store.ReadTx) error {
		if u, _ := r.UserByName("a"); !u.Admin || u.PasswordHash != "new" || u.Email != "a@example.com" {
			t.Errorf("after commit: %+v", u)
		}
		return nil
	})
}

func TestNoOpsChangeNothing(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a")
	mustUpdate(t, s, func(w *store.WriteTx) error { _, err := w.RegisterAdmin("root", "r@example.com", "h"); return err })
	before := digest(t, s)
	mustUpdate(t, s, func(w *store.WriteTx) error {
		for _, err := range []error{w.SetAdmin("root", true), w.SetAdmin("a", false), w.SetPasswordHash("a", "hash")} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if digest(t, s) != before {
		t.Fatal("setting a value a user already has changed the data")
	}
}

// TestRegisterFirstAdminIsDeterministic: replicas applying the same
// proposals (a first start's, then a repeat after a restart) agree.
func TestRegisterFirstAdminIsDeterministic(t *testing.T) {
	t.Parallel()
	apply := func(s *store.Store) []error {
		var errs []error
		mustUpdate(t, s, func(w *store.WriteTx) error {
			for _, n := range []string{"admin", "admin", "other"} {
				_, err := w.RegisterFirstAdmin(n, n+"@example.com", "h")
				errs = append(errs, err)
			}
			return nil
		})
		return errs
	}
	s1, s2 := openTemp(t), openTemp(t)
	errs := apply(s1)
	if errs[0] != nil || !errors.Is(errs[1], store.ErrAdminExists) || !errors.Is(errs[2], store.ErrAdminExists) {
		t.Fatalf("results %v, want nil then ErrAdminExists twice", errs)
	}
	if errs2 := apply(s2); !slices.Equal(errs, errs2) {
		t.Fatalf("replicas disagree: %v vs %v", errs, errs2)
	}
	if digest(t, s1) != digest(t, s2) {
		t.Fatal("replicas hold different data")
	}
	// An admin made by SetAdmin counts too.
	s3 := openTemp(t)
	register(t, s3, "u")
	mustUpdate(t, s3, func(w *store.WriteTx) error { return w.SetAdmin("u", true) })
	if err := s3.Update(func(w *store.WriteTx) error {
		_, err := w.RegisterFirstAdmin("admin", "a@example.com", "h")
		return err
	}); !errors.Is(err, store.ErrAdminExists) {
		t.Fatalf("first admin after a granted one: %v", err)
	}
}

func TestSetPasswordHash(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a", "b")
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.SetPasswordHash("a", "$argon2id$reset") })
	s.View(func(r *store.ReadTx) error {
		if u, _ := r.UserByName("a"); u.PasswordHash != "$argon2id$reset" {
			t.Errorf("a's hash %q", u.PasswordHash)
		}
		if u, _ := r.UserByName("b"); u.PasswordHash != "hash" {
			t.Errorf("b's hash changed to %q", u.PasswordHash)
		}
		return nil
	})
}

// TestTemporaryPassword: a one-time password stays marked through a legacy
// hash upgrade (same password) and is cleared by a new password.
func TestTemporaryPassword(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a", "b")
	marked := func(name string) bool {
		var u store.User
		s.View(func(r *store.ReadTx) error { u, _ = r.UserByName(name); return nil })
		return u.TemporaryPassword
	}
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.MarkPasswordTemporary("a") })
	if !marked("a") || marked("b") {
		t.Fatalf("marks: a %v, b %v; want only a", marked("a"), marked("b"))
	}
	mustUpdate(t, s, func(w *store.WriteTx) error { _, err := w.ReplacePasswordHash("a", "hash", "$argon2id$up"); return err })
	if !marked("a") {
		t.Error("a legacy hash upgrade cleared the one-time mark")
	}
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.SetPasswordHash("a", "$argon2id$chosen") })
	if marked("a") {
		t.Error("a new password left the one-time mark")
	}
	err := s.Update(func(w *store.WriteTx) error { return w.MarkPasswordTemporary("nobody") })
	if !errors.Is(err, store.ErrUnknownUser) {
		t.Errorf("marking an unknown user: %v, want ErrUnknownUser", err)
	}
}

// TestOldDataFileGainsAdmins: a file written before admins existed has no
// admins bucket and no admin counter. It opens, reads as having no admins,
// and takes admins from then on.
func TestOldDataFileGainsAdmins(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.db")
	s := openAt(t, path)
	register(t, s, "alice", "bob")
	post(t, s, "alice", "from before admins existed")
	s.Close()
	// Make it the file an older binary wrote.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("meta")).Get([]byte("count_admins")) != nil {
			return errors.New("a file without admins has an admin counter")
		}
		return tx.DeleteBucket([]byte("admins"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	s.View(func(r *store.ReadTx) error {
		checkAdmins(t, r, []string{"alice", "bob"}, []string{})
		if got, err := r.SearchUsers("", "", 10); err != nil || !slices.Equal(names(got), []string{"alice", "bob"}) {
			t.Errorf("search users: %q, %v", names(got), err)
		}
		return nil
	})
	if err := s.Update(func(w *store.WriteTx) error { return w.SetAdmin("bob", false) }); err != nil {
		t.Errorf("revoking a non-admin in an old file: %v", err)
	}
	mustUpdate(t, s, func(w *store.WriteTx) error { _, err := w.RegisterFirstAdmin("root", "r@example.com", "h"); return err })
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.SetAdmin("alice", true) })
	s.Close()

	s = openAt(t, path)
	s.View(func(r *store.ReadTx) error {
		checkAdmins(t, r, []string{"alice", "bob", "root"}, []string{"alice", "root"})
		return nil
	})
}

// openAt opens the data file at path; closing it early is allowed.
func openAt(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
