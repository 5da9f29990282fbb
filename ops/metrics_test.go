package ops

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestExpositionConventions: /metrics' text follows Prometheus' conventions
// (LintExposition) with every kind of family in it, the labelled series
// panels and alerts use exist at 0 before their first event, and the
// malformed runtime families of the metrics library are left out.
func TestExpositionConventions(t *testing.T) {
	m := NewMetrics()
	var before bytes.Buffer
	m.WritePrometheus(&before)
	for _, want := range []string{
		`minitwit_simulator_errors_total{route="POST /api/msgs/{username}",status="500"} 0`,
		`minitwit_simulator_errors_total{route="POST /api/register",status="503"} 0`,
		`minitwit_simulator_requests_total 0`,
		`minitwit_api_refused_total{reason="ip"} 0`,
		`minitwit_api_refused_total{reason="auth"} 0`,
		`minitwit_api_refused_total{reason="join_token"} 0`,
	} {
		if !strings.Contains(before.String(), want+"\n") {
			t.Errorf("a fresh registry lacks %s", want)
		}
	}
	if strings.Contains(before.String(), `route="POST /api/register",status="400"`) {
		t.Error("register's 400 is no error, yet it has an error series")
	}

	m.ObserveRequest("GET /", 200, 3*time.Millisecond)
	m.ObserveRequest("", 404, time.Millisecond)
	m.SimulatorRequest("POST /api/msgs/{username}", 404)
	m.APIRefused("auth")
	m.CertEvent("cert_obtained")
	m.Histogram(`minitwit_raft_apply_duration_seconds`).Update(0.01)
	m.Counter(`minitwit_raft_leader_changes_total`).Inc()
	m.Gauge(`minitwit_users`, func() float64 { return 3 })
	m.Gauge(`minitwit_backup_failures_total`, func() float64 { return 1 })
	var out bytes.Buffer
	m.WritePrometheus(&out)
	text := out.String()
	for _, p := range LintExposition(text) {
		t.Error(p)
	}
	for _, want := range []string{
		"# HELP minitwit_users Users in the store.\n# TYPE minitwit_users gauge\nminitwit_users 3\n",
		"# TYPE minitwit_backup_failures_total counter\nminitwit_backup_failures_total 1\n",
		`minitwit_simulator_errors_total{route="POST /api/msgs/{username}",status="404"} 1`,
		`minitwit_api_refused_total{reason="auth"} 1`,
		`minitwit_request_duration_seconds_count{route="GET /"} 1`,
		`minitwit_request_duration_seconds_sum{route="unmatched"}`,
		"# TYPE go_gc_duration_seconds summary\n",
		"go_gc_duration_seconds_count ",
		"# TYPE process_io_read_bytes_total counter\n",
		"process_open_fds ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, gone := range []string{"go_gc_pauses_seconds", "go_sched_latencies_seconds", "go_cgo_calls_count", "go_gc_forced_count", "go_info_ext", "untyped"} {
		if strings.Contains(text, gone) {
			t.Errorf("/metrics still has %s", gone)
		}
	}
}

// TestLintExpositionFindsProblems: the checker the exposition tests rely
// on reports each convention broken.
func TestLintExpositionFindsProblems(t *testing.T) {
	bad := `x_total 1
# HELP a_count
# TYPE a_count counter
a_count 1
# HELP h A histogram.
# TYPE h histogram
h_bucket{r="1",le="1"} 1
h_bucket{r="1",le="+Inf"} 1
h_sum{r="1"} 1
# HELP g A gauge.
# TYPE g gauge
g_total 1
# HELP h Again.
# TYPE h histogram
`
	got := strings.Join(LintExposition(bad), "\n")
	for _, want := range []string{
		"x_total: sample outside",
		"a_count: empty HELP",
		"a_count: a counter without _total",
		"h{r=\"1\"}: no count",
		"g_total: sample outside",
		"h: family appears twice",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("LintExposition missed %q; said:\n%s", want, got)
		}
	}
}
