package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"minitwit/store"
)

func TestSearchUsers(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	all := []string{"Roger", "roger", "Rogers", "Ro", "Rob", "R", "Rö", "Zed", "Ünï", "ro ger"}
	register(t, s, all...)
	slices.Sort(all)
	cases := []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 100, all},
		{"", "", 2, []string{"R", "Ro"}},
		{"Ro", "", 100, []string{"Ro", "Rob", "Roger", "Rogers"}},
		{"Rog", "", 100, []string{"Roger", "Rogers"}},
		{"rog", "", 100, []string{"roger"}}, // case-sensitive
		{"ro", "", 100, []string{"ro ger", "roger"}},
		{"Roger", "", 100, []string{"Roger", "Rogers"}},
		{"Ro", "Rob", 100, []string{"Roger", "Rogers"}},            // strictly after
		{"Ro", "Roa", 100, []string{"Rob", "Roger", "Rogers"}},     // after need not be a name
		{"Ro", "A", 100, []string{"Ro", "Rob", "Roger", "Rogers"}}, // after before the prefix
		{"Ro", "Rz", 100, []string{}},                              // after beyond the prefix
		{"Ro", "Rogers", 100, []string{}},
		{"Ü", "", 100, []string{"Ünï"}},
		{"Rö", "", 100, []string{"Rö"}},
		{"nobody", "", 100, []string{}},
		{"Ro", "", 0, []string{}},
		{"Ro", "", -1, []string{}},
	}
	s.View(func(r *store.ReadTx) error {
		for _, c := range cases {
			got, err := r.SearchUsers(c.prefix, c.after, c.limit)
			if err != nil {
				t.Errorf("%q after %q: %v", c.prefix, c.after, err)
				continue
			}
			if got == nil || !slices.Equal(names(got), c.want) {
				t.Errorf("%q after %q limit %d: %q, want %q", c.prefix, c.after, c.limit, names(got), c.want)
			}
		}
		if got, _ := r.SearchUsers("Roger", "", 1); len(got) != 1 || got[0].Email != "Roger@example.com" || got[0].ID != 1 {
			t.Errorf("the user record is not returned whole: %+v", got)
		}
		return nil
	})
	// Paging with the last name as the cursor visits every match once.
	for _, prefix := range []string{"", "R", "Ro"} {
		var want []string
		for _, n := range all {
			if strings.HasPrefix(n, prefix) {
				want = append(want, n)
			}
		}
		for _, limit := range []int{1, 2, 3, 100} {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > len(all)+1 {
					t.Fatalf("paging %q by %d does not end", prefix, limit)
				}
				var page []store.User
				s.View(func(r *store.ReadTx) (err error) { page, err = r.SearchUsers(prefix, after, limit); return err })
				if len(page) > limit {
					t.Fatalf("page of %d > limit %d", len(page), limit)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, names(page)...)
				after = page[len(page)-1].Name
			}
			if !slices.Equal(got, want) {
				t.Errorf("paging %q by %d: %q, want %q", prefix, limit, got, want)
			}
		}
	}
}

// searchModel is a brute-force reference for SearchMessages.
type searchModel struct {
	ids     []uint64 // in posting order
	author  map[uint64]string
	text    map[uint64]string
	flagged map[uint64]bool
}

func (m *searchModel) search(author, text string) []uint64 {
	out := []uint64{}
	for i := len(m.ids) - 1; i >= 0; i-- {
		id := m.ids[i]
		if (author == "" || m.author[id] == author) && strings.Contains(strings.ToLower(m.text[id]), strings.ToLower(text)) {
			out = append(out, id)
		}
	}
	return out
}

// searchAll pages through a search with its cursor and returns every
// message found, checking each page's bounds.
func searchAll(t *testing.T, s *store.Store, q store.MessageSearch) []store.Message {
	t.Helper()
	var all []store.Message
	for calls := 0; calls < 100000; calls++ {
		var page []store.Message
		var next uint64
		if err := s.View(func(r *store.ReadTx) (err error) { page, next, err = r.SearchMessages(q); return err }); err != nil {
			t.Fatal(err)
		}
		if page == nil || len(page) > q.Limit {
			t.Fatalf("%+v: page of %d (nil %t), limit %d", q, len(page), page == nil, q.Limit)
		}
		all = append(all, page...)
		if next == 0 {
			return all
		}
		if q.Before != 0 && next >= q.Before {
			t.Fatalf("%+v: cursor %d does not move back", q, next)
		}
		q.Before = next
	}
	t.Fatal("search does not end")
	return nil
}

func TestSearchMessagesMatchesModel(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	users := []string{"alice", "bob", "carol", "quiet"}
	register(t, s, users...)
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"apple", "APPLE pie", "ApPlE", "Äpfel", "äPFEL", "banana", "plain text", "Straße", "STRASSE"}
	m := &searchModel{author: map[uint64]string{}, text: map[uint64]string{}, flagged: map[uint64]bool{}}
	mustUpdate(t, s, func(w *store.WriteTx) error {
		for i := 0; i < 400; i++ {
			a := users[rng.IntN(len(users)-1)] // quiet never posts
			text := fmt.Sprintf("%d %s %s", i, words[rng.IntN(len(words))], words[rng.IntN(len(words))])
			id, err := w.Post(a, text, int64(i))
			if err != nil {
				return err
			}
			m.ids = append(m.ids, id)
			m.author[id], m.text[id] = a, text
			if rng.IntN(5) == 0 {
				m.flagged[id] = true
				if err := w.SetFlag(id, true); err != nil {
					return err
				}
			}
		}
		return nil
	})
	for _, author := range []string{"", "alice", "bob", "quiet"} {
		for _, text := range []string{"", "apple", "APPLE", "äpfel", "ÄPFEL", "PIE", "straße", "e p", "no such text"} {
			want := m.search(author, text)
			for _, size := range []struct{ limit, maxScan int }{{1000, 0}, {7, 0}, {3, 10}, {1, 1}, {50, 13}} {
				q := store.MessageSearch{Author: author, Text: text, Limit: size.limit, MaxScan: size.maxScan}
				got := searchAll(t, s, q)
				if !slices.Equal(ids(got), want) {
					t.Fatalf("%+v: got %d ids, want %d\n got %v\nwant %v", q, len(got), len(want), ids(got), want)
				}
				for _, msg := range got {
					if msg.Flagged != m.flagged[msg.ID] || msg.Author != m.author[msg.ID] || msg.Email != msg.Author+"@example.com" || msg.Text != m.text[msg.ID] {
						t.Fatalf("%+v: message %+v does not match what was posted", q, msg)
					}
				}
			}
		}
	}
	// A page starting from an arbitrary cursor.
	s.View(func(r *store.ReadTx) error {
		before := m.ids[200]
		page, _, err := r.SearchMessages(store.MessageSearch{Text: "apple", Before: before, Limit: 5})
		var want []uint64
		for _, id := range m.search("", "apple") {
			if id < before && len(want) < 5 {
				want = append(want, id)
			}
		}
		if err != nil || !slices.Equal(ids(page), want) {
			t.Errorf("from cursor %d: %v (%v), want %v", before, ids(page), err, want)
		}
		return nil
	})
}

// TestSearchMessagesScanIsBounded: a match further back than one call may
// scan is found by following the cursor, and each call stops after MaxScan
// messages (DefaultSearchScan when unset).
func TestSearchMessagesScanIsBounded(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a", "b")
	needle := post(t, s, "b", "the Needle")
	var hay []uint64
	mustUpdate(t, s, func(w *store.WriteTx) error {
		for i := 0; i < store.DefaultSearchScan+5; i++ {
			id, err := w.Post("a", "hay", 1)
			if err != nil {
				return err
			}
			hay = append(hay, id)
		}
		return nil
	})
	s.View(func(r *store.ReadTx) error {
		// The default bound: the newest DefaultSearchScan messages, then a
		// cursor just below the last one examined.
		got, next, err := r.SearchMessages(store.MessageSearch{Text: "needle", Limit: 10})
		if err != nil || len(got) != 0 || next != hay[len(hay)-store.DefaultSearchScan] {
			t.Errorf("first call: %v, next %d, %v; want nothing and next %d", ids(got), next, err, hay[len(hay)-store.DefaultSearchScan])
		}
		got, next, err = r.SearchMessages(store.MessageSearch{Text: "needle", Limit: 10, Before: next})
		if err != nil || !slices.Equal(ids(got), []uint64{needle}) || next != 0 {
			t.Errorf("second call: %v, next %d, %v; want the needle and the end", ids(got), next, err)
		}
		// A small bound: empty pages with cursors until the match.
		q := store.MessageSearch{Text: "NEEDLE", Limit: 10, MaxScan: 1000}
		for calls := 1; ; calls++ {
			got, next, err := r.SearchMessages(q)
			if err != nil {
				return err
			}
			if len(got) > 0 {
				if !slices.Equal(ids(got), []uint64{needle}) || got[0].Author != "b" || next != 0 {
					t.Errorf("found %+v, next %d", got, next)
				}
				if want := (len(hay) + 1 + 999) / 1000; calls != want {
					t.Errorf("found after %d calls, want %d", calls, want)
				}
				return nil
			}
			if next == 0 || (q.Before != 0 && q.Before-next != 1000) {
				t.Fatalf("call %d: an empty page with cursor %d after %d", calls, next, q.Before)
			}
			q.Before = next
		}
	})
	// Walking one author's index skips the others' messages entirely.
	s.View(func(r *store.ReadTx) error {
		got, next, err := r.SearchMessages(store.MessageSearch{Author: "b", Text: "needle", Limit: 10, MaxScan: 1})
		if err != nil || !slices.Equal(ids(got), []uint64{needle}) || next != 0 {
			t.Errorf("by author: %v, next %d, %v", ids(got), next, err)
		}
		return nil
	})
}

func TestSearchMessagesEdges(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	register(t, s, "a")
	first := post(t, s, "a", "one")
	second := post(t, s, "a", "two")
	cases := []struct {
		name     string
		q        store.MessageSearch
		want     []uint64
		wantNext uint64
		wantErr  error
	}{
		{"unknown author", store.MessageSearch{Author: "nobody", Limit: 10}, nil, 0, store.ErrUnknownUser},
		{"limit 0", store.MessageSearch{Limit: 0}, []uint64{}, 0, nil},
		{"everything", store.MessageSearch{Limit: 10}, []uint64{second, first}, 0, nil},
		{"page filled", store.MessageSearch{Limit: 1}, []uint64{second}, second, nil},
		{"page filled by the last", store.MessageSearch{Limit: 2}, []uint64{second, first}, 0, nil},
		{"scan stopped", store.MessageSearch{Text: "one", Limit: 10, MaxScan: 1}, []uint64{}, second, nil},
		{"before the first", store.MessageSearch{Limit: 10, Before: first}, []uint64{}, 0, nil},
		{"before beyond the newest", store.MessageSearch{Limit: 10, Before: 1000}, []uint64{second, first}, 0, nil},
		{"author, before", store.MessageSearch{Author: "a", Limit: 10, Before: second}, []uint64{first}, 0, nil},
	}
	s.View(func(r *store.ReadTx) error {
		for _, c := range cases {
			got, next, err := r.SearchMessages(c.q)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Errorf("%s: err %v, want %v", c.name, err, c.wantErr)
				continue
			}
			if c.wantErr == nil && (!slices.Equal(ids(got), c.want) || next != c.wantNext) {
				t.Errorf("%s: %v next %d, want %v next %d", c.name, ids(got), next, c.want, c.wantNext)
			}
		}
		return nil
	})
}
