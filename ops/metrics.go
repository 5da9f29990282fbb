package ops

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Metrics is one node's metrics registry. It is a value, not a global, so a
// test can run several nodes in one process.
type Metrics struct {
	set *metrics.Set

	mu        sync.Mutex
	responses map[routeStatus]*metrics.Counter
	durations map[string]*metrics.PrometheusHistogram
}

type routeStatus struct {
	route  string
	status int
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{
		set:       metrics.NewSet(),
		responses: make(map[routeStatus]*metrics.Counter),
		durations: make(map[string]*metrics.PrometheusHistogram),
	}
}

// ObserveRequest counts one HTTP response for a route pattern (never a raw
// path) and records its latency in a Prometheus-style histogram, from which
// stock Prometheus computes quantiles.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.mu.Lock()
	c, ok := m.responses[routeStatus{route, status}]
	if !ok {
		c = m.set.GetOrCreateCounter(fmt.Sprintf(`minitwit_http_responses_total{route=%q,status="%d"}`, route, status))
		m.responses[routeStatus{route, status}] = c
	}
	h, ok := m.durations[route]
	if !ok {
		h = m.set.GetOrCreatePrometheusHistogram(fmt.Sprintf(`minitwit_request_duration_seconds{route=%q}`, route))
		m.durations[route] = h
	}
	m.mu.Unlock()
	c.Inc()
	h.Update(d.Seconds())
}

// SimulatorRequest counts a request of the simulator API by the course
// simulator's own rule: a register is fine with 204 or 400 (the user
// exists), everything else only with 204. Errors are counted by route and
// status, requests in all (for the rate the graders watch).
func (m *Metrics) SimulatorRequest(route string, status int) {
	m.set.GetOrCreateCounter(`minitwit_simulator_requests_total`).Inc()
	ok := status == 204 || (status == 400 && route == "POST /api/register")
	if !ok {
		m.set.GetOrCreateCounter(fmt.Sprintf(`minitwit_simulator_errors_total{route=%q,status="%d"}`, route, status)).Inc()
	}
}

// Histogram returns the Prometheus-style histogram called name (bounded
// labels only), creating it on first use.
func (m *Metrics) Histogram(name string) *metrics.PrometheusHistogram {
	return m.set.GetOrCreatePrometheusHistogram(name)
}

// Counter returns the counter called name, creating it on first use.
func (m *Metrics) Counter(name string) *metrics.Counter {
	return m.set.GetOrCreateCounter(name)
}

// APIRefused counts a simulator API request refused before it was served;
// reason is one of a fixed set ("ip", "auth").
func (m *Metrics) APIRefused(reason string) {
	m.set.GetOrCreateCounter(`minitwit_api_refused_total{reason=` + strconv.Quote(reason) + `}`).Inc()
}

// CertEvent counts a certificate event (cert_obtaining, cert_obtained,
// cert_failed, ...; the caller keeps the set fixed).
func (m *Metrics) CertEvent(event string) {
	m.set.GetOrCreateCounter(`minitwit_tls_certificate_events_total{event=` + strconv.Quote(event) + `}`).Inc()
}

// Gauge registers a gauge computed on scrape.
func (m *Metrics) Gauge(name string, f func() float64) {
	m.set.GetOrCreateGauge(name, f)
}

// WritePrometheus writes every metric of this node, plus Go runtime and
// process figures, in Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}
