package ops

import (
	"context"
	rtmetrics "runtime/metrics"
	"sync"
	"time"
)

// Reading is one snapshot of a node's counters and gauges, from which the
// sampler derives a Point by comparing it with the snapshot before.
type Reading struct {
	RequestTotals
	AppliedIndex uint64    // Raft log index applied to the store
	RaftLag      float64   // entries this node's applied index trails the leader's commit index
	HeapBytes    float64   // see ReadHeapBytes
	At           time.Time // when the reading was taken; zero means now
}

// Point is what the admin charts draw for one sampling interval: rates
// over the interval that ends At, and gauges as of At. It travels between
// nodes as JSON, so each node can show the whole cluster.
type Point struct {
	At                time.Time `json:"at"`
	RequestsPerSec    float64   `json:"requests_per_sec"`
	ErrorsPerSec      float64   `json:"errors_per_sec"` // 5xx responses
	P50Ms             float64   `json:"p50_ms"`         // 0 when there were no requests
	P99Ms             float64   `json:"p99_ms"`
	SimRequestsPerMin float64   `json:"sim_requests_per_min"`
	SimErrorsPerMin   float64   `json:"sim_errors_per_min"`
	WritesPerSec      float64   `json:"writes_per_sec"` // Raft entries applied
	RaftLag           float64   `json:"raft_lag"`
	HeapMiB           float64   `json:"heap_mib"`
}

// Sampler turns periodic Readings into a bounded history of Points, kept
// in memory: the admin page needs the last day and nothing outside the
// process.
type Sampler struct {
	interval time.Duration
	read     func() Reading

	// sampleMu serialises Sample, so that readings are compared in the
	// order they were taken; it is not held by Points, so a slow read
	// does not block the admin page.
	sampleMu sync.Mutex
	prev     Reading
	primed   bool

	mu    sync.Mutex
	ring  []Point // fixed capacity; a ring once full
	start int     // index of the oldest point once the ring is full
}

// NewSampler returns a sampler that calls read every interval (once Run)
// and keeps the newest keep points; 8640 at 10 s is 24 h.
func NewSampler(interval time.Duration, keep int, read func() Reading) *Sampler {
	return &Sampler{interval: interval, read: read, ring: make([]Point, 0, max(keep, 1))}
}

// Run samples every interval until ctx ends. The first reading only primes
// the sampler, so a caller wanting a point one interval after start calls
// Sample before Run.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sample()
		}
	}
}

// Sample takes a reading now and, unless it is the first or cannot be
// compared with the one before, records the point it yields.
func (s *Sampler) Sample() {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	cur := s.read()
	if cur.At.IsZero() {
		cur.At = time.Now()
	}
	prev, primed := s.prev, s.primed
	s.prev, s.primed = cur, true
	if !primed {
		return
	}
	p, ok := derive(prev, cur)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, p)
		return
	}
	s.ring[s.start] = p
	s.start = (s.start + 1) % len(s.ring)
}

// Points returns a copy of the points at or after since, oldest first
// (never nil, so that it encodes as a JSON array).
func (s *Sampler) Points(since time.Time) []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Count first: the ring is large and callers usually want a part.
	n := 0
	for i := range s.ring {
		if !s.ring[i].At.Before(since) {
			n++
		}
	}
	out := make([]Point, 0, n)
	for i := range s.ring {
		p := s.ring[(s.start+i)%len(s.ring)]
		if !p.At.Before(since) {
			out = append(out, p)
		}
	}
	return out
}

// derive computes the point for the interval between two readings. It
// refuses (ok false) when time did not advance or a counter went
// backwards: a rate from such a pair would be meaningless or negative,
// and a gap in the chart is the honest answer.
func derive(prev, cur Reading) (p Point, ok bool) {
	secs := cur.At.Sub(prev.At).Seconds()
	if secs <= 0 {
		return Point{}, false
	}
	if cur.Requests < prev.Requests || cur.ServerErrors < prev.ServerErrors ||
		cur.SimRequests < prev.SimRequests || cur.SimErrors < prev.SimErrors ||
		cur.AppliedIndex < prev.AppliedIndex {
		return Point{}, false
	}
	var buckets [LatencyBucketCount]uint64
	for i := range buckets {
		if cur.Latency[i] < prev.Latency[i] {
			return Point{}, false
		}
		buckets[i] = cur.Latency[i] - prev.Latency[i]
	}
	return Point{
		At:                cur.At,
		RequestsPerSec:    float64(cur.Requests-prev.Requests) / secs,
		ErrorsPerSec:      float64(cur.ServerErrors-prev.ServerErrors) / secs,
		P50Ms:             quantileMs(&buckets, 0.50),
		P99Ms:             quantileMs(&buckets, 0.99),
		SimRequestsPerMin: float64(cur.SimRequests-prev.SimRequests) / secs * 60,
		SimErrorsPerMin:   float64(cur.SimErrors-prev.SimErrors) / secs * 60,
		WritesPerSec:      float64(cur.AppliedIndex-prev.AppliedIndex) / secs,
		RaftLag:           cur.RaftLag,
		HeapMiB:           cur.HeapBytes / (1 << 20),
	}, true
}

// quantileMs estimates the q-quantile, in milliseconds, of the latencies
// counted per bucket, interpolating linearly inside the bucket it falls
// in (as Prometheus' histogram_quantile does). The overflow bucket has no
// upper bound, so a quantile there reads as the last bound. No requests
// yield 0.
func quantileMs(buckets *[LatencyBucketCount]uint64, q float64) float64 {
	var total uint64
	for _, n := range buckets {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var below float64 // requests in the buckets before i
	for i, n := range buckets {
		if n == 0 || below+float64(n) < rank {
			below += float64(n)
			continue
		}
		if i == len(LatencyBounds) {
			break
		}
		var lower time.Duration
		if i > 0 {
			lower = LatencyBounds[i-1]
		}
		upper := LatencyBounds[i]
		d := float64(lower) + float64(upper-lower)*(rank-below)/float64(n)
		return d / float64(time.Millisecond)
	}
	return float64(LatencyBounds[len(LatencyBounds)-1]) / float64(time.Millisecond)
}

// heapMetric is the runtime/metrics name for the bytes of heap memory
// occupied by objects, live or not yet swept: what MemStats.HeapAlloc
// reports, but readable without stopping the world.
const heapMetric = "/memory/classes/heap/objects:bytes"

// ReadHeapBytes returns the bytes the Go heap's objects occupy, for
// Reading.HeapBytes.
func ReadHeapBytes() float64 {
	sample := []rtmetrics.Sample{{Name: heapMetric}}
	rtmetrics.Read(sample)
	if sample[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0 // not supported by this runtime
	}
	return float64(sample[0].Value.Uint64())
}
