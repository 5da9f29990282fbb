package store_test

import (
	"path/filepath"
	"testing"

	"minitwit/store"
)

// TestFormatFloorOnlyRises: the floor keeps the newest format applied; a
// lower one changes nothing.
func TestFormatFloorOnlyRises(t *testing.T) {
	t.Parallel()
	st, err := store.Open(filepath.Join(t.TempDir(), "data.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, step := range []struct{ raise, want byte }{{0, 0}, {4, 4}, {3, 4}, {5, 5}} {
		if err := st.Update(func(w *store.WriteTx) error { return w.RaiseFormatFloor(step.raise) }); err != nil {
			t.Fatal(err)
		}
		var got byte
		st.View(func(tx *store.ReadTx) error { got = tx.FormatFloor(); return nil })
		if got != step.want {
			t.Errorf("after raising to %d: floor %d, want %d", step.raise, got, step.want)
		}
	}
}
