package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"minitwit/node/nodetest"
	"minitwit/store"
)

// seeded returns a store holding a generated data set, generated once per
// size into the system temp dir and reused by later runs (generating a
// million messages takes a while).
func seeded(b *testing.B, spec nodetest.SeedSpec) *store.Store {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("minitwit-seed-%d-%d-%d", spec.Users, spec.Messages, spec.Follows))
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o700)
		start := time.Now()
		if err := nodetest.Seed(dir, spec, nil); err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600)
		b.Logf("seeded %+v in %v", spec, time.Since(start))
	}
	s, err := store.Open(filepath.Join(dir, "minitwit.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

var seedOnce sync.Mutex

// BenchmarkTimelines measures first and deep cursor pages of the three
// timelines at two data sizes with the same users and follows: the cost
// must not grow with the number of messages. It reports p99 per query.
func BenchmarkTimelines(b *testing.B) {
	for _, msgs := range []int{100_000, 1_000_000} {
		spec := nodetest.SeedSpec{Users: 10_000, Messages: msgs, Follows: 200_000}
		seedOnce.Lock()
		s := seeded(b, spec)
		seedOnce.Unlock()
		var mid uint64
		s.View(func(r *store.ReadTx) error { mid = r.Counts().Messages / 2; return nil })
		queries := []struct {
			name string
			q    func(r *store.ReadTx, uid uint64, deep bool) (store.TimelinePage, error)
		}{
			{"public", func(r *store.ReadTx, _ uint64, deep bool) (store.TimelinePage, error) {
				return r.PublicTimeline(store.Page{Before: pick(deep, mid), Limit: 30})
			}},
			{"user", func(r *store.ReadTx, uid uint64, deep bool) (store.TimelinePage, error) {
				return r.UserTimeline(uid, store.Page{Before: pick(deep, mid), Limit: 30})
			}},
			{"home", func(r *store.ReadTx, uid uint64, deep bool) (store.TimelinePage, error) {
				return r.HomeTimeline(uid, store.Page{Before: pick(deep, mid), Limit: 30})
			}},
		}
		for _, q := range queries {
			for _, deep := range []bool{false, true} {
				page := "first"
				if deep {
					page = "deep"
				}
				b.Run(fmt.Sprintf("messages=%d/%s/%s", msgs, q.name, page), func(b *testing.B) {
					durs := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						uid := uint64(i%spec.Users) + 1
						start := time.Now()
						err := s.View(func(r *store.ReadTx) error {
							p, err := q.q(r, uid, deep)
							if err == nil && len(p.Messages) == 0 && q.name != "user" {
								err = fmt.Errorf("empty page")
							}
							return err
						})
						durs = append(durs, time.Since(start))
						if err != nil {
							b.Fatal(err)
						}
					}
					slices.Sort(durs)
					b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
				})
			}
		}
	}
}

func pick(deep bool, mid uint64) uint64 {
	if deep {
		return mid
	}
	return 0
}
