package store_test

import (
	"errors"
	"slices"
	"testing"

	"minitwit/store"
)

func TestCertStorage(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	put := func(key, value string) {
		t.Helper()
		if err := s.Update(func(w *store.WriteTx) error { return w.PutCert(key, []byte(value), 42) }); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	put("certificates/acme/example.com/example.com.crt", "crt")
	put("certificates/acme/example.com/example.com.key", "key")
	put("certificates/acme/other.org/other.org.crt", "crt2")
	put("acme/account.json", "acct")
	put("last_clean.json", "{}")

	s.View(func(r *store.ReadTx) error {
		f, err := r.Cert("certificates/acme/example.com/example.com.key")
		if err != nil || string(f.Value) != "key" || f.Modified != 42 {
			t.Errorf("get: %+v, %v", f, err)
		}
		if _, err := r.Cert("certificates/acme"); !errors.Is(err, store.ErrCertNotFound) {
			t.Errorf("a directory read as a file: %v", err)
		}
		if !r.CertDirExists("certificates/acme") || r.CertDirExists("certificates/ac") {
			t.Error("directory existence wrong")
		}
		for _, c := range []struct {
			dir       string
			recursive bool
			want      []string
		}{
			{"", false, []string{"acme", "certificates", "last_clean.json"}},
			{"certificates/acme", false, []string{"certificates/acme/example.com", "certificates/acme/other.org"}},
			{"certificates", true, []string{"certificates/acme/example.com/example.com.crt",
				"certificates/acme/example.com/example.com.key", "certificates/acme/other.org/other.org.crt"}},
			{"nothing", true, nil},
		} {
			if got := r.CertKeys(c.dir, c.recursive); !slices.Equal(got, c.want) {
				t.Errorf("list %q recursive=%t: %q, want %q", c.dir, c.recursive, got, c.want)
			}
		}
		return nil
	})

	if err := s.Update(func(w *store.WriteTx) error { return w.DeleteCert("certificates/acme/example.com") }); err != nil {
		t.Fatal(err)
	}
	s.View(func(r *store.ReadTx) error {
		if got := r.CertKeys("", true); !slices.Equal(got, []string{"acme/account.json", "certificates/acme/other.org/other.org.crt", "last_clean.json"}) {
			t.Errorf("after deleting a directory: %q", got)
		}
		return nil
	})
	for _, bad := range []string{"", "/abs", "dir/", "a//b"} {
		if err := s.Update(func(w *store.WriteTx) error { return w.PutCert(bad, nil, 1) }); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
}

func TestCertLeases(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	acquire := func(owner string, now, expires int64, fence uint64) error {
		return s.Update(func(w *store.WriteTx) error { return w.AcquireCertLease("issue_cert_x", owner, now, expires, fence) })
	}
	if err := acquire("a", 100, 200, 7); err != nil {
		t.Fatal(err)
	}
	if err := acquire("b", 150, 250, 8); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("b took a's unexpired lease: %v", err)
	}
	if err := acquire("a", 150, 300, 9); err != nil {
		t.Fatalf("a could not renew: %v", err)
	}
	if err := acquire("b", 301, 400, 10); err != nil {
		t.Fatalf("b could not take the expired lease: %v", err)
	}
	// a was too slow: its release must not free b's lease.
	s.Update(func(w *store.WriteTx) error { return w.ReleaseCertLease("issue_cert_x", "a") })
	s.View(func(r *store.ReadTx) error {
		if l, ok := r.CertLease("issue_cert_x"); !ok || l.Owner != "b" || l.Fence != 10 || l.Expires != 400 {
			t.Errorf("lease %+v, %t", l, ok)
		}
		return nil
	})
	s.Update(func(w *store.WriteTx) error { return w.ReleaseCertLease("issue_cert_x", "b") })
	s.View(func(r *store.ReadTx) error {
		if _, ok := r.CertLease("issue_cert_x"); ok {
			t.Error("released lease still there")
		}
		return nil
	})
}
