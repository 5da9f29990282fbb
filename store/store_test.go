package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"minitwit/store"
)

func openTemp(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "data.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustUpdate(t testing.TB, s *store.Store, fn func(w *store.WriteTx) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func register(t testing.TB, s *store.Store, names ...string) {
	t.Helper()
	mustUpdate(t, s, func(w *store.WriteTx) error {
		for _, n := range names {
			if _, err := w.Register(n, n+"@example.com", "hash"); err != nil {
				return err
			}
		}
		return nil
	})
}

func post(t testing.TB, s *store.Store, author, text string) uint64 {
	t.Helper()
	var id uint64
	mustUpdate(t, s, func(w *store.WriteTx) (err error) { id, err = w.Post(author, text, 1700000000); return err })
	return id
}

func digest(t testing.TB, s *store.Store) string {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRegisterAndLookup(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "Roger Histand", "Ünïcode ☃")
	err := s.View(func(r *store.ReadTx) error {
		u, err := r.UserByName("Roger Histand")
		if err != nil {
			return err
		}
		if u.Email != "Roger Histand@example.com" || u.PasswordHash != "hash" || u.ID != 1 {
			return fmt.Errorf("got %+v", u)
		}
		if _, err := r.UserByName("roger histand"); !errors.Is(err, store.ErrUnknownUser) {
			return fmt.Errorf("names must match exactly, got %v", err)
		}
		if c := r.Counts(); c.Users != 2 {
			return fmt.Errorf("counts %+v", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a", "b")
	post(t, s, "a", "hello")
	mustUpdate(t, s, func(w *store.WriteTx) error { _, err := w.RegisterAdmin("root", "root@example.com", "h"); return err })
	before := digest(t, s)
	cases := []struct {
		name string
		op   func(w *store.WriteTx) error
		want error
	}{
		{"name taken", func(w *store.WriteTx) error { _, err := w.Register("a", "x@y", "h"); return err }, store.ErrNameTaken},
		{"empty name", func(w *store.WriteTx) error { _, err := w.Register("", "x@y", "h"); return err }, store.ErrInvalid},
		{"slash in name", func(w *store.WriteTx) error { _, err := w.Register("a/b", "x@y", "h"); return err }, store.ErrInvalid},
		{"control char", func(w *store.WriteTx) error { _, err := w.Register("a\nb", "x@y", "h"); return err }, store.ErrInvalid},
		{"bad utf8 name", func(w *store.WriteTx) error { _, err := w.Register("a\xffb", "x@y", "h"); return err }, store.ErrInvalid},
		{"long name", func(w *store.WriteTx) error {
			_, err := w.Register(string(make([]byte, store.MaxUsernameBytes+1)), "x@y", "h")
			return err
		}, store.ErrInvalid},
		{"post unknown", func(w *store.WriteTx) error { _, err := w.Post("nobody", "t", 1); return err }, store.ErrUnknownUser},
		{"post bad utf8", func(w *store.WriteTx) error { _, err := w.Post("a", "\xff", 1); return err }, store.ErrInvalid},
		{"post too long", func(w *store.WriteTx) error {
			_, err := w.Post("a", string(make([]byte, store.MaxMessageBytes+1)), 1)
			return err
		}, store.ErrInvalid},
		{"follow unknown who", func(w *store.WriteTx) error { return w.Follow("nobody", "a") }, store.ErrUnknownUser},
		{"follow unknown whom", func(w *store.WriteTx) error { return w.Follow("a", "nobody") }, store.ErrUnknownUser},
		{"follow self", func(w *store.WriteTx) error { return w.Follow("a", "a") }, store.ErrFollowSelf},
		{"unfollow unknown", func(w *store.WriteTx) error { return w.Unfollow("a", "nobody") }, store.ErrUnknownUser},
		{"flag unknown", func(w *store.WriteTx) error { return w.SetFlag(99, true) }, store.ErrUnknownMessage},
		{"short session key", func(w *store.WriteTx) error { return w.InitSecrets(store.ClusterSecrets{SessionKey: []byte("short")}) }, store.ErrInvalid},
		{"CA cert without key", func(w *store.WriteTx) error { return w.InitSecrets(store.ClusterSecrets{CACert: []byte("cert")}) }, store.ErrInvalid},
		{"admin name taken", func(w *store.WriteTx) error { _, err := w.RegisterAdmin("a", "x@y", "h"); return err }, store.ErrNameTaken},
		{"admin empty name", func(w *store.WriteTx) error { _, err := w.RegisterAdmin("", "x@y", "h"); return err }, store.ErrInvalid},
		{"first admin again", func(w *store.WriteTx) error { _, err := w.RegisterFirstAdmin("new", "x@y", "h"); return err }, store.ErrAdminExists},
		{"first admin, name taken too", func(w *store.WriteTx) error { _, err := w.RegisterFirstAdmin("a", "x@y", "h"); return err }, store.ErrAdminExists},
		{"revoke last admin", func(w *store.WriteTx) error { return w.SetAdmin("root", false) }, store.ErrLastAdmin},
		{"grant unknown", func(w *store.WriteTx) error { return w.SetAdmin("nobody", true) }, store.ErrUnknownUser},
		{"revoke unknown", func(w *store.WriteTx) error { return w.SetAdmin("nobody", false) }, store.ErrUnknownUser},
		{"password of unknown", func(w *store.WriteTx) error { return w.SetPasswordHash("nobody", "h2") }, store.ErrUnknownUser},
		{"empty password hash", func(w *store.WriteTx) error { return w.SetPasswordHash("a", "") }, store.ErrInvalid},
		{"long password hash", func(w *store.WriteTx) error {
			return w.SetPasswordHash("a", string(make([]byte, store.MaxHashBytes+1)))
		}, store.ErrInvalid},
	}
	for _, c := range cases {
		err := s.Update(func(w *store.WriteTx) error {
			if err := c.op(w); !errors.Is(err, c.want) {
				return fmt.Errorf("%s: got %v, want %v", c.name, err, c.want)
			}
			return nil // commit: a refused operation must have written nothing
		})
		if err != nil {
			t.Error(err)
		}
	}
	if after := digest(t, s); after != before {
		t.Fatal("refused operations changed the data")
	}
}

func TestFollowsAreASet(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a", "b", "c")
	mustUpdate(t, s, func(w *store.WriteTx) error {
		for _, op := range []error{w.Follow("a", "b"), w.Follow("a", "b"), w.Follow("a", "c"), w.Unfollow("a", "c"),
			w.Unfollow("a", "c"), w.Unfollow("b", "a"), w.Follow("c", "a")} {
			if op != nil {
				return op
			}
		}
		return nil
	})
	s.View(func(r *store.ReadTx) error {
		a, _ := r.UserByName("a")
		fs, err := r.Follows(a.ID, 100)
		if err != nil || len(fs) != 1 || fs[0].Name != "b" {
			t.Errorf("follows of a = %v, %v", fs, err)
		}
		if n, _ := r.Follows(a.ID, 0); len(n) != 0 || n == nil {
			t.Errorf("limit 0 must give an empty, non-nil list: %#v", n)
		}
		if c := r.Counts(); c.Follows != 2 {
			t.Errorf("follow count %d, want 2", c.Follows)
		}
		return nil
	})
}

func TestLatestAndSessionKey(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	s.View(func(r *store.ReadTx) error {
		if _, ok := r.Latest(); ok {
			t.Error("latest set on a new store")
		}
		return nil
	})
	key1, key2 := make([]byte, 32), make([]byte, 32)
	key1[0], key2[0] = 1, 2
	mustUpdate(t, s, func(w *store.WriteTx) error {
		if err := w.SetLatest(-5); err != nil {
			return err
		}
		if err := w.InitSecrets(store.ClusterSecrets{SessionKey: key1}); err != nil {
			return fmt.Errorf("first key: %v", err)
		}
		// A later proposal sets only what is missing.
		if err := w.InitSecrets(store.ClusterSecrets{SessionKey: key2, JoinToken: []byte("token")}); err != nil {
			return fmt.Errorf("second proposal: %v", err)
		}
		return nil
	})
	s.View(func(r *store.ReadTx) error {
		if v, ok := r.Latest(); !ok || v != -5 {
			t.Errorf("latest = %d %v", v, ok)
		}
		if k := r.SessionKey(); k[0] != 1 {
			t.Error("the first session key must win")
		}
		if sec := r.Secrets(); string(sec.JoinToken) != "token" || sec.CACert != nil {
			t.Errorf("secrets %+v: a missing secret is set by a later proposal", sec)
		}
		return nil
	})
}

// TestRotateJoinToken: a rotation replaces the join token (InitSecrets
// keeps the first); a short token, or a rotation before the cluster has a
// token, is refused and changes nothing.
func TestRotateJoinToken(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	fresh := bytes.Repeat([]byte("n"), store.MinJoinTokenLen)
	err := s.Update(func(w *store.WriteTx) error { return w.RotateJoinToken(fresh) })
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("rotation before any token: %v, want ErrInvalid", err)
	}
	mustUpdate(t, s, func(w *store.WriteTx) error {
		return w.InitSecrets(store.ClusterSecrets{JoinToken: []byte("the first join token")})
	})
	err = s.Update(func(w *store.WriteTx) error { return w.RotateJoinToken(fresh[:store.MinJoinTokenLen-1]) })
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("short token: %v, want ErrInvalid", err)
	}
	token := func() string {
		var tok string
		s.View(func(r *store.ReadTx) error { tok = string(r.Secrets().JoinToken); return nil })
		return tok
	}
	if got := token(); got != "the first join token" {
		t.Fatalf("after refusals the token is %q", got)
	}
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.RotateJoinToken(fresh) })
	mustUpdate(t, s, func(w *store.WriteTx) error {
		return w.InitSecrets(store.ClusterSecrets{JoinToken: []byte("a later first-start proposal")})
	})
	if got := token(); got != string(fresh) {
		t.Fatalf("after the rotation the token is %q, want the new one", got)
	}
}

// model is a brute-force reference for the timeline queries.
type model struct {
	author  map[uint64]string
	flagged map[uint64]bool
	follows map[string]map[string]bool
	ids     []uint64
}

func (m *model) timeline(include func(author string) bool, before uint64, limit int) []uint64 {
	out := []uint64{}
	for i := len(m.ids) - 1; i >= 0 && len(out) < limit; i-- {
		id := m.ids[i]
		if (before == 0 || id < before) && !m.flagged[id] && include(m.author[id]) {
			out = append(out, id)
		}
	}
	return out
}

func ids(msgs []store.Message) []uint64 {
	out := []uint64{}
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

// walk pages through a timeline with its cursors and returns every id.
func walk(t *testing.T, s *store.Store, limit int, q func(r *store.ReadTx, p store.Page) (store.TimelinePage, error)) []uint64 {
	t.Helper()
	var all []uint64
	before := uint64(0)
	for pages := 0; pages < 10000; pages++ {
		var page store.TimelinePage
		if err := s.View(func(r *store.ReadTx) (err error) {
			page, err = q(r, store.Page{Before: before, Limit: limit})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) > limit {
			t.Fatalf("page of %d > limit %d", len(page.Messages), limit)
		}
		all = append(all, ids(page.Messages)...)
		if page.Next == 0 {
			return all
		}
		before = page.Next
	}
	t.Fatal("pagination does not end")
	return nil
}

func TestTimelinesMatchModel(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6"}
	register(t, s, names...)
	m := &model{author: map[uint64]string{}, flagged: map[uint64]bool{}, follows: map[string]map[string]bool{}}
	for _, n := range names {
		m.follows[n] = map[string]bool{}
	}
	mustUpdate(t, s, func(w *store.WriteTx) error {
		for i := 0; i < 600; i++ {
			a := names[rng.IntN(len(names))]
			switch rng.IntN(10) {
			case 0:
				b := names[rng.IntN(len(names))]
				if a != b {
					m.follows[a][b] = true
					if err := w.Follow(a, b); err != nil {
						return err
					}
				}
			case 1:
				b := names[rng.IntN(len(names))]
				if a != b {
					delete(m.follows[a], b)
					if err := w.Unfollow(a, b); err != nil {
						return err
					}
				}
			default:
				id, err := w.Post(a, fmt.Sprintf("msg %d", i), int64(i/7)) // many equal timestamps
				if err != nil {
					return err
				}
				m.ids = append(m.ids, id)
				m.author[id] = a
			}
		}
		// Flag a run of messages and a few scattered ones.
		for _, id := range slices.Concat(m.ids[100:130], []uint64{m.ids[5], m.ids[len(m.ids)-1]}) {
			m.flagged[id] = true
			if err := w.SetFlag(id, true); err != nil {
				return err
			}
		}
		return nil
	})
	for _, limit := range []int{1, 7, 30, 1000} {
		got := walk(t, s, limit, func(r *store.ReadTx, p store.Page) (store.TimelinePage, error) { return r.PublicTimeline(p) })
		if want := m.timeline(func(string) bool { return true }, 0, 1<<30); !slices.Equal(got, want) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("public timeline (limit %d) differs from model at %d: got %v want %v", limit, i, got[max(0, i-3):i+3], want[max(0, i-3):i+3])
				}
			}
			t.Fatalf("public timeline (limit %d): got %d ids, want %d", limit, len(got), len(want))
		}
		for i, n := range names {
			uid := uint64(i + 1)
			got := walk(t, s, limit, func(r *store.ReadTx, p store.Page) (store.TimelinePage, error) { return r.UserTimeline(uid, p) })
			if want := m.timeline(func(a string) bool { return a == n }, 0, 1<<30); !slices.Equal(got, want) {
				t.Fatalf("user timeline of %s (limit %d) differs", n, limit)
			}
			got = walk(t, s, limit, func(r *store.ReadTx, p store.Page) (store.TimelinePage, error) { return r.HomeTimeline(uid, p) })
			if want := m.timeline(func(a string) bool { return a == n || m.follows[n][a] }, 0, 1<<30); !slices.Equal(got, want) {
				t.Fatalf("home timeline of %s (limit %d) differs:\n got %v\nwant %v", n, limit, got, want)
			}
		}
	}
	// A page starting from an arbitrary cursor.
	s.View(func(r *store.ReadTx) error {
		before := m.ids[300]
		page, _ := r.PublicTimeline(store.Page{Before: before, Limit: 10})
		if want := m.timeline(func(string) bool { return true }, before, 10); !slices.Equal(ids(page.Messages), want) {
			t.Errorf("cursor page: got %v want %v", ids(page.Messages), want)
		}
		return nil
	})
}

func TestFlaggedSkipIsBounded(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a")
	old := post(t, s, "a", "old and visible")
	var flagged []uint64
	mustUpdate(t, s, func(w *store.WriteTx) error {
		for i := 0; i < store.MaxFlaggedSkip+500; i++ {
			id, err := w.Post("a", "spam", 1)
			if err != nil {
				return err
			}
			flagged = append(flagged, id)
			if err := w.SetFlag(id, true); err != nil {
				return err
			}
		}
		return nil
	})
	var first store.TimelinePage
	s.View(func(r *store.ReadTx) (err error) { first, err = r.PublicTimeline(store.Page{Limit: 30}); return err })
	if len(first.Messages) != 0 || first.Next == 0 {
		t.Fatalf("a page behind too many flagged messages must end early with a cursor: %d msgs, next %d", len(first.Messages), first.Next)
	}
	got := walk(t, s, 30, func(r *store.ReadTx, p store.Page) (store.TimelinePage, error) { return r.PublicTimeline(p) })
	if !slices.Equal(got, []uint64{old}) {
		t.Fatalf("walking past flagged messages: got %v", got)
	}
	// Unflagging brings a message back everywhere.
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.SetFlag(flagged[0], false) })
	s.View(func(r *store.ReadTx) error {
		if c := r.Counts(); c.Flagged != uint64(len(flagged)-1) {
			t.Errorf("flagged count %d", c.Flagged)
		}
		return nil
	})
}

func TestSnapshotReplaceGivesIdenticalState(t *testing.T) {
	t.Parallel()
	src := openTemp(t)
	register(t, src, "a", "b")
	post(t, src, "a", "hello ☃ <b>")
	mustUpdate(t, src, func(w *store.WriteTx) error { return w.Follow("b", "a") })
	sn, err := src.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := digest(t, src)
	post(t, src, "b", "written after the snapshot began") // must not be in it

	pr, pw := ioPipe()
	go func() { _, err := sn.WriteTo(pw); pw.CloseWithError(err); sn.Release() }()
	dst := openTemp(t)
	register(t, dst, "someone else") // the old state must vanish entirely
	if err := dst.ReplaceWith(pr); err != nil {
		t.Fatal(err)
	}
	if got := digest(t, dst); got != want {
		t.Fatal("restored store differs from the snapshot's state")
	}
	// The swapped store keeps working.
	post(t, dst, "a", "after restore")
}

func TestReplaceWithRefusesGarbage(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a")
	before := digest(t, s)
	if err := s.ReplaceWith(bytesReader("this is not a bbolt file at all, not even close")); err == nil {
		t.Fatal("garbage accepted")
	}
	if digest(t, s) != before {
		t.Fatal("a refused replacement changed the data")
	}
}

// TestReplaceWithDoesNotWaitForOpenSnapshots: a snapshot of the old data
// still open does not hold up the swap (Raft may hold one open while it
// waits for the goroutine that is swapping: that deadlocked a follower);
// it goes on reading the old data, and Close waits for its release.
func TestReplaceWithDoesNotWaitForOpenSnapshots(t *testing.T) {
	t.Parallel()
	src := openTemp(t)
	register(t, src, "new state")
	var file bytes.Buffer
	sn, err := src.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.WriteTo(&file); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	want := digest(t, src)

	dst := openTemp(t)
	register(t, dst, "old state")
	oldWant := digest(t, dst)
	held, err := dst.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	swapped := make(chan error, 1)
	go func() { swapped <- dst.ReplaceWith(&file) }()
	select {
	case err := <-swapped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a bound on a hang, not a latency budget
		held.Release() // lets the old swap and the test's cleanup end
		t.Fatal("the swap waited for a snapshot of the old data")
	}
	if got := digest(t, dst); got != want {
		t.Fatal("the store does not hold the new data after the swap")
	}
	var old bytes.Buffer
	if _, err := held.WriteTo(&old); err != nil {
		t.Fatalf("the open snapshot can no longer be read: %v", err)
	}
	held.Release()
	oldCopy := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(oldCopy, old.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	reopened, err := store.Open(oldCopy, store.Options{InitialMmapSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if digest(t, reopened) != oldWant {
		t.Fatal("the snapshot held across the swap does not hold the old data")
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
