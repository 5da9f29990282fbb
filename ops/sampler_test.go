package ops

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"

	"minitwit/ops/testwait"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeReads returns a read func that hands out the given readings in turn
// (and the last one again once they run out).
func fakeReads(rs ...Reading) func() Reading {
	var mu sync.Mutex
	i := 0
	return func() Reading {
		mu.Lock()
		defer mu.Unlock()
		r := rs[min(i, len(rs)-1)]
		i++
		return r
	}
}

// bucketsAt returns latency bucket counts with n requests in the bucket
// whose upper bound is le (le < 0: the overflow bucket).
func bucketsAt(counts map[time.Duration]uint64) (b [LatencyBucketCount]uint64, total uint64) {
	for le, n := range counts {
		i := len(LatencyBounds)
		if le >= 0 {
			i = latencyBucket(le)
		}
		b[i] += n
		total += n
	}
	return b, total
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9*max(1, math.Abs(b)) }

func TestMetricsTotals(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	m.ObserveRequest("GET /", 200, 300*time.Microsecond)
	m.ObserveRequest("GET /", 200, 500*time.Microsecond) // on a bound: that bucket
	m.ObserveRequest("GET /", 503, 80*time.Millisecond)
	m.ObserveRequest("", 500, time.Minute)
	m.SimulatorRequest("POST /api/register", 204)
	m.SimulatorRequest("POST /api/register", 400) // the user exists: fine
	m.SimulatorRequest("POST /api/msgs/{username}", 400)
	m.SimulatorRequest("GET /api/msgs", 500)

	got := m.Totals()
	var want RequestTotals
	want.Requests, want.ServerErrors, want.SimRequests, want.SimErrors = 4, 2, 4, 2
	want.Latency[0] = 2                                   // <= 0.5 ms
	want.Latency[latencyBucket(100*time.Millisecond)] = 1 // 60..100 ms
	want.Latency[LatencyBucketCount-1] = 1                // beyond 10 s
	if got != want {
		t.Fatalf("totals\n got %+v\nwant %+v", got, want)
	}
}

func TestMetricsLatencyBucket(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0},
		{500 * time.Microsecond, 0},
		{500*time.Microsecond + 1, 1},
		{time.Millisecond, 1},
		{10 * time.Second, len(LatencyBounds) - 1},
		{10*time.Second + 1, len(LatencyBounds)},
		{time.Hour, len(LatencyBounds)},
	} {
		if got := latencyBucket(tc.d); got != tc.want {
			t.Errorf("latencyBucket(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	for i := 1; i < len(LatencyBounds); i++ {
		if LatencyBounds[i] <= LatencyBounds[i-1] {
			t.Fatalf("bounds not increasing at %d", i)
		}
	}
}

func TestSamplerDerivesRatesAndQuantiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		latency map[time.Duration]uint64 // requests in the interval by bucket bound
		secs    float64
		errs    uint64
		sim     uint64
		simErrs uint64
		applied uint64
		want    Point // At is filled in
	}{
		{
			name: "idle",
			secs: 10,
			want: Point{},
		},
		{
			name:    "one bucket",
			latency: map[time.Duration]uint64{2 * time.Millisecond: 10}, // (1 ms, 2 ms]
			secs:    10, errs: 1, sim: 6, simErrs: 3, applied: 50,
			want: Point{
				RequestsPerSec: 1, ErrorsPerSec: 0.1,
				P50Ms: 1.5, P99Ms: 1.99,
				SimRequestsPerMin: 36, SimErrorsPerMin: 18, WritesPerSec: 5,
			},
		},
		{
			name: "fast and slow",
			latency: map[time.Duration]uint64{
				500 * time.Microsecond: 90, // (0, 0.5 ms]
				100 * time.Millisecond: 10, // (60 ms, 100 ms]
			},
			secs: 20,
			want: Point{RequestsPerSec: 5, P50Ms: 0.5 * 50 / 90, P99Ms: 60 + 40*9.0/10},
		},
		{
			name:    "overflow reads as the last bound",
			latency: map[time.Duration]uint64{-1: 4},
			secs:    2,
			want:    Point{RequestsPerSec: 2, P50Ms: 10000, P99Ms: 10000},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prev := Reading{At: t0, AppliedIndex: 100, RaftLag: 1, HeapBytes: 1 << 20}
			prev.Requests, prev.ServerErrors, prev.SimRequests, prev.SimErrors = 1000, 10, 100, 5
			prev.Latency[3] = 1000 // earlier traffic, which must not count
			cur := prev
			cur.At = t0.Add(time.Duration(tc.secs * float64(time.Second)))
			b, n := bucketsAt(tc.latency)
			for i := range b {
				cur.Latency[i] += b[i]
			}
			cur.Requests += n
			cur.ServerErrors += tc.errs
			cur.SimRequests += tc.sim
			cur.SimErrors += tc.simErrs
			cur.AppliedIndex += tc.applied
			cur.RaftLag, cur.HeapBytes = 3, 300<<20

			s := NewSampler(time.Second, 10, fakeReads(prev, cur))
			s.Sample()
			if got := s.Points(time.Time{}); len(got) != 0 {
				t.Fatalf("the first reading made points %+v", got)
			}
			s.Sample()
			got := s.Points(time.Time{})
			if len(got) != 1 {
				t.Fatalf("%d points, want 1", len(got))
			}
			want := tc.want
			want.At, want.RaftLag, want.HeapMiB = cur.At, 3, 300
			p := got[0]
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"RequestsPerSec", p.RequestsPerSec, want.RequestsPerSec},
				{"ErrorsPerSec", p.ErrorsPerSec, want.ErrorsPerSec},
				{"P50Ms", p.P50Ms, want.P50Ms},
				{"P99Ms", p.P99Ms, want.P99Ms},
				{"SimRequestsPerMin", p.SimRequestsPerMin, want.SimRequestsPerMin},
				{"SimErrorsPerMin", p.SimErrorsPerMin, want.SimErrorsPerMin},
				{"WritesPerSec", p.WritesPerSec, want.WritesPerSec},
				{"RaftLag", p.RaftLag, want.RaftLag},
				{"HeapMiB", p.HeapMiB, want.HeapMiB},
			} {
				if !approx(f.got, f.want) {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
			if !p.At.Equal(want.At) {
				t.Errorf("At = %v, want %v", p.At, want.At)
			}
		})
	}
}

func TestSamplerSkipsIncomparableReadings(t *testing.T) {
	t.Parallel()
	base := Reading{At: t0, AppliedIndex: 10}
	base.Requests, base.SimRequests = 5, 5
	base.Latency[0] = 5
	later := func(f func(r *Reading)) Reading {
		r := base
		r.At = t0.Add(10 * time.Second)
		f(&r)
		return r
	}
	for _, tc := range []struct {
		name string
		cur  Reading
	}{
		{"requests backwards", later(func(r *Reading) { r.Requests-- })},
		{"bucket backwards", later(func(r *Reading) { r.Latency[0]--; r.Latency[1]++ })},
		{"simulator backwards", later(func(r *Reading) { r.SimRequests-- })},
		{"applied index backwards", later(func(r *Reading) { r.AppliedIndex-- })},
		{"time stood still", func() Reading { r := base; r.Requests++; r.Latency[0]++; return r }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next := tc.cur
			next.At = tc.cur.At.Add(10 * time.Second)
			s := NewSampler(time.Second, 10, fakeReads(base, tc.cur, next))
			s.Sample()
			s.Sample()
			if got := s.Points(time.Time{}); len(got) != 0 {
				t.Fatalf("points %+v, want none", got)
			}
			// The bad reading primes again: the next one compares with it.
			s.Sample()
			if got := s.Points(time.Time{}); len(got) != 1 || got[0].RequestsPerSec != 0 {
				t.Fatalf("points %+v, want one idle point", got)
			}
		})
	}
}

// tickingReads returns a read func whose readings are 10 s apart, with one
// more request each time.
func tickingReads() func() Reading {
	var mu sync.Mutex
	var r Reading
	r.At = t0
	return func() Reading {
		mu.Lock()
		defer mu.Unlock()
		out := r
		r.At = r.At.Add(10 * time.Second)
		r.Requests++
		r.Latency[0]++
		return out
	}
}

func TestSamplerRingWrapsAndFilters(t *testing.T) {
	t.Parallel()
	s := NewSampler(time.Second, 5, tickingReads())
	for range 1 + 12 { // a priming reading, then 12 points into 5 slots
		s.Sample()
	}
	all := s.Points(time.Time{})
	if len(all) != 5 {
		t.Fatalf("%d points, want 5", len(all))
	}
	for i, p := range all {
		if want := t0.Add(time.Duration(8+i) * 10 * time.Second); !p.At.Equal(want) {
			t.Fatalf("point %d at %v, want %v (the newest, oldest first)", i, p.At, want)
		}
	}
	for _, tc := range []struct {
		since time.Duration
		want  int
	}{
		{0, 5},
		{80 * time.Second, 5}, // inclusive
		{85 * time.Second, 4},
		{100 * time.Second, 3},
		{120 * time.Second, 1},
		{121 * time.Second, 0},
		{time.Hour, 0},
	} {
		got := s.Points(t0.Add(tc.since))
		if len(got) != tc.want {
			t.Errorf("Points(t0+%v): %d points, want %d", tc.since, len(got), tc.want)
		}
		if len(got) > 0 && !got[len(got)-1].At.Equal(all[4].At) {
			t.Errorf("Points(t0+%v) does not end with the newest", tc.since)
		}
	}
	if got := s.Points(t0.Add(time.Hour)); got == nil {
		t.Error("an empty result is nil, which encodes as null")
	}
}

func TestSamplerConcurrent(t *testing.T) {
	t.Parallel()
	s := NewSampler(time.Millisecond, 64, tickingReads())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				s.Sample()
			}
		})
		wg.Go(func() {
			for range 200 {
				ps := s.Points(t0)
				for i := 1; i < len(ps); i++ {
					if !ps[i].At.After(ps[i-1].At) {
						t.Errorf("points out of order at %d", i)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if got := len(s.Points(time.Time{})); got != 64 {
		t.Fatalf("%d points, want a full ring of 64", got)
	}
}

func TestSamplerRun(t *testing.T) {
	t.Parallel()
	s := NewSampler(time.Millisecond, 100, tickingReads())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	testwait.Until(t, "Run to make 3 points", func() bool { return len(s.Points(time.Time{})) >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(testwait.Timeout):
		t.Fatal("Run did not return when its context ended")
	}
}

func TestSamplerPointJSON(t *testing.T) {
	t.Parallel()
	in := []Point{{At: t0, RequestsPerSec: 1.5, P99Ms: 12, HeapMiB: 300}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []Point
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !out[0].At.Equal(t0) || out[0] != (Point{At: out[0].At, RequestsPerSec: 1.5, P99Ms: 12, HeapMiB: 300}) {
		t.Fatalf("round trip %s gave %+v", b, out)
	}
}

func TestSamplerReadHeapBytes(t *testing.T) {
	t.Parallel()
	if got := ReadHeapBytes(); got < 1<<10 || got > 1<<40 {
		t.Fatalf("heap %v bytes, implausible", got)
	}
}
