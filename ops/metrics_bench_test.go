package ops

import (
	"testing"
	"time"
)

// BenchmarkObserveRequest is what metrics cost a request: one counter and
// one histogram update, plus the simulator counters for API writes.
func BenchmarkObserveRequest(b *testing.B) {
	m := NewMetrics()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("POST /api/msgs/{username}", 204, 2*time.Millisecond)
			m.SimulatorRequest("POST /api/msgs/{username}", 204)
		}
	})
}
