package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"minitwit/store"
)

// Writes happen in one transaction; reads see a consistent view. A refused
// operation returns a typed error and writes nothing, so the transaction
// can go on.
func Example() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	s, _ := store.Open(filepath.Join(dir, "data.db"), store.Options{})
	defer s.Close()

	s.Update(func(w *store.WriteTx) error {
		w.Register("Roger Histand", "roger@example.com", "$argon2id$...")
		w.Register("Geoffrey Stieff", "geoffrey@example.com", "$argon2id$...")
		_, err := w.Register("Roger Histand", "again@example.com", "$argon2id$...")
		fmt.Println("second registration:", err)
		w.Post("Roger Histand", "Hello, world", 1582260561)
		w.Post("Geoffrey Stieff", "Hej!", 1582260562)
		return w.Follow("Geoffrey Stieff", "Roger Histand")
	})

	s.View(func(r *store.ReadTx) error {
		me, _ := r.UserByName("Geoffrey Stieff")
		page, _ := r.HomeTimeline(me.ID, store.Page{Limit: 30})
		for _, m := range page.Messages {
			fmt.Printf("%s: %s\n", m.Author, m.Text)
		}
		fmt.Printf("%+v\n", r.Counts())
		return nil
	})
	// Output:
	// second registration: the username is already taken
	// Geoffrey Stieff: Hej!
	// Roger Histand: Hello, world
	// {Users:2 Messages:2 Follows:1 Flagged:0 Admins:0}
}

// Pages are walked with a cursor: Next is the Before of the following page.
func ExampleReadTx_PublicTimeline() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	s, _ := store.Open(filepath.Join(dir, "data.db"), store.Options{})
	defer s.Close()
	s.Update(func(w *store.WriteTx) error {
		w.Register("a", "a@example.com", "h")
		for i := 1; i <= 5; i++ {
			w.Post("a", fmt.Sprintf("message %d", i), int64(i))
		}
		return nil
	})
	s.View(func(r *store.ReadTx) error {
		for before := uint64(0); ; {
			page, _ := r.PublicTimeline(store.Page{Before: before, Limit: 2})
			var texts []string
			for _, m := range page.Messages {
				texts = append(texts, m.Text)
			}
			fmt.Println(strings.Join(texts, "; "))
			if page.Next == 0 {
				return nil
			}
			before = page.Next
		}
	})
	// Output:
	// message 5; message 4
	// message 3; message 2
	// message 1
}
