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

// TestKeepAuditTrail: a restored file takes the current trail, and the
// next entry follows it.
func TestKeepAuditTrail(t *testing.T) {
	t.Parallel()
	cur, restored := openTemp(t), openTemp(t)
	add := func(s *store.Store, action string) {
		t.Helper()
		if err := s.Update(func(w *store.WriteTx) error { return w.AppendAudit(store.AuditEntry{Action: action}) }); err != nil {
			t.Fatal(err)
		}
	}
	add(cur, "one")
	add(cur, "two")
	add(restored, "from the backup")
	var trail []store.AuditEntry
	cur.View(func(r *store.ReadTx) error { trail = r.Audit(0, store.AuditKeep); return nil })
	if err := restored.Update(func(w *store.WriteTx) error { return w.KeepAuditTrail(trail) }); err != nil {
		t.Fatal(err)
	}
	add(restored, "three")
	restored.View(func(r *store.ReadTx) error {
		var got []string
		for _, e := range r.Audit(0, 10) {
			got = append(got, strings.Join([]string{e.Action, string(rune('0' + e.Seq))}, "@"))
		}
		if strings.Join(got, " ") != "three@3 two@2 one@1" {
			t.Errorf("trail after the restore: %v", got)
		}
		return nil
	})
}
