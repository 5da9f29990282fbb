package store_test

import (
	"strconv"
	"testing"

	"minitwit/store"
)

// BenchmarkDigest hashes a store of 50,000 messages by one user, the state
// the node's snapshot catch-up test compares across three nodes.
func BenchmarkDigest(b *testing.B) {
	s := openTemp(b)
	register(b, s, "writer")
	mustUpdate(b, s, func(w *store.WriteTx) error {
		for i := 0; i < 50_000; i++ {
			if _, err := w.Post("writer", "m"+strconv.Itoa(i), 1); err != nil {
				return err
			}
		}
		return nil
	})
	b.ResetTimer()
	for b.Loop() {
		digest(b, s)
	}
}
