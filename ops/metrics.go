package ops

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

	// Process-wide totals for the in-process sampler behind the admin
	// charts, kept apart from the registry so that reading them needs no
	// metric names and updating them is one or two atomic adds. The
	// request count is the sum of the latency buckets, since every
	// request but a stream (CountResponse) lands in exactly one. The padding keeps these counters off
	// the cache line of the mutex above.
	_            [64]byte
	serverErrors atomic.Uint64
	simRequests  atomic.Uint64
	simErrors    atomic.Uint64
	latency      [LatencyBucketCount]atomic.Uint64
}

// LatencyBounds are the upper bounds of the buckets of the process-wide
// latency histogram, roughly log-spaced from 0.5 ms to 10 s so that both a
// cached page and a stalled Raft proposal land in a bucket narrow enough
// for p50 and p99 to mean something. A last, unbounded bucket follows.
var LatencyBounds = [...]time.Duration{
	500 * time.Microsecond, 1 * time.Millisecond, 2 * time.Millisecond,
	3 * time.Millisecond, 5 * time.Millisecond, 7500 * time.Microsecond,
	10 * time.Millisecond, 15 * time.Millisecond, 25 * time.Millisecond,
	40 * time.Millisecond, 60 * time.Millisecond, 100 * time.Millisecond,
	150 * time.Millisecond, 250 * time.Millisecond, 400 * time.Millisecond,
	600 * time.Millisecond, 1 * time.Second, 1500 * time.Millisecond,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// LatencyBucketCount is the number of latency buckets: one per bound plus
// the overflow bucket for anything slower than the last bound.
const LatencyBucketCount = len(LatencyBounds) + 1

// RequestTotals are the process-wide request counters since start. Every
// field only grows, so the sampler derives rates and quantiles from the
// difference of two copies.
type RequestTotals struct {
	Requests     uint64 // all HTTP responses
	ServerErrors uint64 // responses with a 5xx status
	SimRequests  uint64 // simulator API requests
	SimErrors    uint64 // simulator API requests the simulator counts as failed
	// Latency[i] counts requests that took at most LatencyBounds[i] and
	// more than the bound before it; the last element counts those
	// slower than every bound. Per bucket, not cumulative over buckets.
	Latency [LatencyBucketCount]uint64
}

// Totals returns a copy of the process-wide totals. The fields are read
// one by one, so they may disagree by the requests finishing meanwhile;
// the sampler tolerates that.
func (m *Metrics) Totals() RequestTotals {
	t := RequestTotals{
		ServerErrors: m.serverErrors.Load(),
		SimRequests:  m.simRequests.Load(),
		SimErrors:    m.simErrors.Load(),
	}
	for i := range m.latency {
		t.Latency[i] = m.latency[i].Load()
		t.Requests += t.Latency[i]
	}
	return t
}

// latencyBucket returns the index of the bucket d falls into, by binary
// search over the bounds (no allocation, a few comparisons).
func latencyBucket(d time.Duration) int {
	lo, hi := 0, len(LatencyBounds)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if d > LatencyBounds[mid] {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

type routeStatus struct {
	route  string
	status int
}

// simulatorWrites are the simulator API's write routes (the ones
// SimulatorRequest sees), and simulatorFailures the statuses they answer
// with when they fail; register's 400 is the course's "user exists", fine.
var (
	simulatorWrites   = []string{"POST /api/register", "POST /api/msgs/{username}", "POST /api/fllws/{username}"}
	simulatorFailures = []int{400, 403, 404, 413, 500, 503}
	refusalReasons    = []string{"ip", "auth", "join_token"}
)

// NewMetrics returns a registry with the labelled series that panels and
// alerts use already at 0: a series that appears only at its first event
// reads "No data" instead of 0, and rate() over it misses that event.
func NewMetrics() *Metrics {
	m := &Metrics{
		set:       metrics.NewSet(),
		responses: make(map[routeStatus]*metrics.Counter),
		durations: make(map[string]*metrics.PrometheusHistogram),
	}
	m.set.GetOrCreateCounter(`minitwit_simulator_requests_total`)
	for _, route := range simulatorWrites {
		for _, status := range simulatorFailures {
			if !simulatorOK(route, status) {
				m.simulatorErrors(route, status)
			}
		}
	}
	for _, reason := range refusalReasons {
		m.refused(reason)
	}
	return m
}

func simulatorOK(route string, status int) bool {
	return status == 204 || (status == 400 && route == "POST /api/register")
}

func (m *Metrics) simulatorErrors(route string, status int) *metrics.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf(`minitwit_simulator_errors_total{route=%q,status="%d"}`, route, status))
}

func (m *Metrics) refused(reason string) *metrics.Counter {
	return m.set.GetOrCreateCounter(`minitwit_api_refused_total{reason=` + strconv.Quote(reason) + `}`)
}

// ObserveRequest counts one HTTP response for a route pattern (never a raw
// path) and records its latency in a Prometheus-style histogram, from which
// stock Prometheus computes quantiles.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.CountResponse(route, status)
	m.mu.Lock()
	h, ok := m.durations[route]
	if !ok {
		h = m.set.GetOrCreatePrometheusHistogram(fmt.Sprintf(`minitwit_request_duration_seconds{route=%q}`, route))
		m.durations[route] = h
	}
	m.mu.Unlock()
	h.Update(d.Seconds())
	m.latency[latencyBucket(d)].Add(1)
}

// CountResponse counts one HTTP response without its duration: for a
// stream (a live log tail) whose length is the client's choice, which
// would otherwise show as seconds of latency.
func (m *Metrics) CountResponse(route string, status int) {
	if route == "" {
		route = "unmatched"
	}
	m.mu.Lock()
	c, ok := m.responses[routeStatus{route, status}]
	if !ok {
		c = m.set.GetOrCreateCounter(fmt.Sprintf(`minitwit_http_responses_total{route=%q,status="%d"}`, route, status))
		m.responses[routeStatus{route, status}] = c
	}
	m.mu.Unlock()
	c.Inc()
	if status >= 500 && status <= 599 {
		m.serverErrors.Add(1)
	}
}

// SimulatorRequest counts a request of the simulator API by the course
// simulator's own rule: a register is fine with 204 or 400 (the user
// exists), everything else only with 204. Errors are counted by route and
// status, requests in all (for the rate the graders watch).
func (m *Metrics) SimulatorRequest(route string, status int) {
	m.set.GetOrCreateCounter(`minitwit_simulator_requests_total`).Inc()
	m.simRequests.Add(1)
	if !simulatorOK(route, status) {
		m.simErrors.Add(1)
		m.simulatorErrors(route, status).Inc()
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
// reason is one of a fixed set (refusalReasons).
func (m *Metrics) APIRefused(reason string) {
	m.refused(reason).Inc()
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
// process figures, in Prometheus text format with HELP and TYPE from
// families. The library writes the samples; this puts each family's
// samples together under its metadata and leaves out the runtime families
// that families does not list. It leaves the library's global
// ExposeMetadata alone (its HELP lines are empty and its types are the
// library's guess), so several registries in one process cannot disagree.
func (m *Metrics) WritePrometheus(w io.Writer) {
	var buf bytes.Buffer
	m.set.WritePrometheus(&buf)
	metrics.WriteProcessMetrics(&buf)
	metrics.WriteFDMetrics(&buf)
	writeExposition(w, buf.Bytes())
}

// writeExposition writes the sample lines in raw (no comments expected)
// grouped by family, in first-seen order, each group after its HELP and
// TYPE lines.
func writeExposition(w io.Writer, raw []byte) {
	var order []string
	lines := map[string][]string{}
	for line := range strings.Lines(string(raw)) {
		if line == "\n" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasSuffix(line, "\n") {
			line += "\n"
		}
		name := line[:strings.IndexAny(line, "{ ")]
		fam := familyOf(name)
		if _, ok := families[fam]; !ok && !strings.HasPrefix(fam, "minitwit_") {
			continue // a runtime figure we do not serve (see families)
		}
		if _, seen := lines[fam]; !seen {
			order = append(order, fam)
		}
		lines[fam] = append(lines[fam], line)
	}
	bw := bufio.NewWriter(w)
	for _, fam := range order {
		f, ok := families[fam]
		if !ok {
			f = family{"untyped", "Undocumented: add it to ops.families."}
		}
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", fam, f.help, fam, f.typ)
		for _, l := range lines[fam] {
			bw.WriteString(l)
		}
	}
	_ = bw.Flush() // to the scraper's response: if it has gone, no one is left to tell
}

// familyOf maps a sample name to its family: a histogram's _bucket, _sum
// and _count samples and a summary's _sum and _count belong to the
// histogram or summary.
func familyOf(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := families[base]; ok && (f.typ == "histogram" || f.typ == "summary") {
				return base
			}
		}
	}
	return name
}
