package node_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"minitwit/node/nodetest"
	"minitwit/ops"
)

// scrape reads /metrics with the token and returns every sample line by
// metric name (the part before '{' or ' '). The text must pass
// ops.LintExposition (HELP and TYPE, _total, complete histograms).
func scrape(t *testing.T, base, token string) map[string][]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ops.LintExposition(string(body)) {
		t.Errorf("/metrics: %s", p)
	}
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		out[name] = append(out[name], line)
	}
	return out
}

// TestMetricsExposition: /metrics serves the Raft, store, request and
// simulator figures under their documented names, with bounded labels.
func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-for-the-test"
	cfg := nodetest.Config(t.TempDir())
	cfg.Metrics.Token = token
	cfg.Backup.Dir = t.TempDir() // so the backup figures exist
	n := nodetest.Start(t, web, cfg)
	base := "http://" + n.HTTPAddr()
	register(t, n, "alice")
	if s := apiPost(t, base, "/msgs/alice", map[string]string{"content": "hi"}); s != 204 {
		t.Fatalf("tweet: %d", s)
	}
	if s := apiPost(t, base, "/msgs/nobody", map[string]string{"content": "hi"}); s != 404 {
		t.Fatalf("tweet by nobody: %d", s)
	}
	got := scrape(t, base, token)
	for _, name := range []string{
		"minitwit_http_responses_total", "minitwit_request_duration_seconds_bucket",
		"minitwit_simulator_requests_total", "minitwit_simulator_errors_total",
		"minitwit_raft_state", "minitwit_raft_is_leader", "minitwit_raft_term", "minitwit_raft_last_index",
		"minitwit_raft_commit_index", "minitwit_raft_applied_index", "minitwit_raft_last_snapshot_index",
		"minitwit_raft_leader_changes_total", "minitwit_raft_apply_duration_seconds_bucket",
		"minitwit_store_apply_duration_seconds_bucket",
		"minitwit_users", "minitwit_messages", "minitwit_follows", "minitwit_flagged_messages",
		"minitwit_followers_per_user", "minitwit_data_file_bytes", "minitwit_data_dir_free_bytes", "minitwit_raft_voters",
		"minitwit_api_refused_total", "minitwit_backup_last_success_timestamp_seconds",
		"minitwit_backup_last_ok_timestamp_seconds", "minitwit_backup_interval_seconds",
		"minitwit_backup_failures_total",
		"minitwit_alerts_firing", "minitwit_alert_webhook_failures_total", "minitwit_alert_notices_dropped_total",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if len(got[name]) == 0 {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// Every error series exists from the start (at 0); the one error so
	// far counts 1 and no other does.
	var errs []string
	for _, l := range got["minitwit_simulator_errors_total"] {
		if !strings.HasSuffix(l, "} 0") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], `route="POST /api/msgs/{username}",status="404"} 1`) {
		t.Errorf("simulator errors: %q", errs)
	}
	if l := got["minitwit_api_refused_total"]; !slices.Contains(l, `minitwit_api_refused_total{reason="auth"} 0`) {
		t.Errorf("refusals by credentials are not at 0 before the first: %q", l)
	}
	if l := got["minitwit_users"]; len(l) != 1 || l[0] != "minitwit_users 2" { // the first admin and the simulator's user
		t.Errorf("users: %q", l)
	}
	if l := got["minitwit_raft_is_leader"]; len(l) != 1 || l[0] != "minitwit_raft_is_leader 1" {
		t.Errorf("is leader: %q", l)
	}
	if l := got["minitwit_raft_voters"]; len(l) != 1 || l[0] != "minitwit_raft_voters 1" {
		t.Errorf("voters: %q", l)
	}
	if l := got["minitwit_data_dir_free_bytes"]; len(l) != 1 || strings.HasSuffix(l[0], " 0") {
		t.Errorf("free bytes: %q", l)
	}

	// The Grafana dashboard in deploy/ uses only metrics a node serves
	// (the certificate ones exist in acme mode only).
	dash, err := os.ReadFile("../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	acmeOnly := map[string]bool{"minitwit_tls_certificate_expiry_timestamp_seconds": true, "minitwit_tls_certificate_events_total": true}
	for _, name := range regexp.MustCompile(`minitwit_[a-z_]+`).FindAllString(string(dash), -1) {
		if len(got[name]) == 0 && !acmeOnly[name] {
			t.Errorf("the dashboard uses %s, which /metrics does not serve", name)
		}
	}
}
