package store_test

import (
	"strings"
	"testing"

	"minitwit/store"
)

// TestAuditTrailIsBounded: the trail keeps the newest AuditKeep entries,
// trimmed in the transaction that adds one, and cuts over-long texts.
func TestAuditTrailIsBounded(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	const total = store.AuditKeep + 150
	for i := 0; i < total; i += 50 {
		err := s.Update(func(w *store.WriteTx) error {
			for j := i; j < i+50; j++ {
				if err := w.AppendAudit(store.AuditEntry{Time: int64(j), Node: "n1", Action: "read join token", Outcome: "ok"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(func(w *store.WriteTx) error {
		return w.AppendAudit(store.AuditEntry{Time: total, Node: "n1", Action: "x", Target: strings.Repeat("é", 400)})
	}); err != nil {
		t.Fatal(err)
	}
	s.View(func(r *store.ReadTx) error {
		all := r.Audit(0, 2*total)
		if len(all) != store.AuditKeep {
			t.Fatalf("%d entries kept, want %d", len(all), store.AuditKeep)
		}
		if all[0].Seq != total+1 || all[0].Time != total || all[len(all)-1].Seq != total+1-store.AuditKeep+1 {
			t.Errorf("kept %d..%d, want the newest", all[len(all)-1].Seq, all[0].Seq)
		}
		if n := len(all[0].Target); n > 256 || n < 250 || !strings.HasPrefix(strings.Repeat("é", 200), all[0].Target) {
			t.Errorf("long target kept as %d bytes", n)
		}
		return nil
	})
}
