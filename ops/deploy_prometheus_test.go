package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"minitwit/httpui"
	"minitwit/node"
	"minitwit/node/config"
	"minitwit/node/nodetest"
	"minitwit/ops/simulate"
)

// deployWeb wires the web layer to test nodes as cmd/minitwit does.
func deployWeb(n *node.Node) (node.Handler, error) { return httpui.ForNode(n) }

// acmeOnly are the families a node serves in acme mode only: an empty
// result for them is expected here.
var acmeOnly = regexp.MustCompile(`minitwit_tls_certificate_[a-z_]+`)

// TestDashboardAndAlertsOnRealPrometheus: a real Prometheus scrapes a
// 3-node cluster during a short replay, with deploy/alerts.yml loaded.
// Then every PromQL expression of deploy/grafana-dashboard.json returns
// data through Prometheus' HTTP API, every alert rule evaluates without an
// error, every series an alert reads exists, and `promtool check metrics`
// finds nothing in a node's /metrics.
func TestDashboardAndAlertsOnRealPrometheus(t *testing.T) {
	t.Parallel()
	prometheus := tool(t, "prometheus")
	promtool := tool(t, "promtool")
	const token = "prometheus-test-metrics-token"

	nodes := nodetest.StartClusterWith(t, deployWeb, 3, func(i int, cfg *config.Config) {
		cfg.Metrics.Token = token
		cfg.Backup.Dir = t.TempDir()                       // so the backup figures exist
		cfg.Backup.Interval = config.Duration(time.Second) // and a backup is taken
	})

	// promtool's lint of the exposition (HELP, TYPE, names, units).
	body := scrape(t, nodes[1], token)
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	base := startPrometheus(t, prometheus, nodes, token)

	// A short replay through all three nodes (followers forward), with
	// one error by the course's rule: a tweet by a user nobody registered.
	var actions []simulate.Action
	for i := range 12 {
		actions = append(actions, simulate.Action{ID: len(actions) + 1, Command: simulate.CmdRegister,
			User: fmt.Sprintf("user%d", i), Arg: fmt.Sprintf("user%d@example.com", i), Password: "pw"})
	}
	for i := range 24 {
		actions = append(actions, simulate.Action{ID: len(actions) + 1, Command: simulate.CmdTweet, User: fmt.Sprintf("user%d", i%12), Arg: "hello"})
		actions = append(actions, simulate.Action{ID: len(actions) + 1, Command: simulate.CmdFollow, User: fmt.Sprintf("user%d", i%12), Arg: fmt.Sprintf("user%d", (i+1)%12)})
	}
	actions = append(actions, simulate.Action{ID: len(actions) + 1, Command: simulate.CmdTweet, User: "nobody", Arg: "hello"})
	var urls []string
	for _, n := range nodes {
		urls = append(urls, "http://"+n.HTTPAddr()+"/api")
	}
	var errLines bytes.Buffer
	sum, err := simulate.Run(context.Background(), actions, simulate.Options{BaseURL: strings.Join(urls, ","), Errors: &errLines, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 1 {
		t.Fatalf("replay: %d errors, want the one tweet by nobody:\n%s", sum.Errors, errLines.String())
	}

	// Wait until every node was scraped twice after the replay (rate()
	// needs two samples) and every rule was evaluated.
	// A Prometheus that started slowly may have scraped only once so far,
	// so the samples since the replay are counted, not just the newest.
	replayed := time.Now()
	after := float64(replayed.Add(2 * time.Second).Unix())
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, _ := queryScalar(base, `min(timestamp(up{job="minitwit"}))`)
		c, _ := queryScalar(base, `count(up{job="minitwit"} == 1)`)
		since := max(1, int(time.Since(replayed).Seconds()))
		samples, _ := queryScalar(base, fmt.Sprintf(`min(count_over_time(up{job="minitwit"}[%ds]))`, since))
		if v > after && c == 3 && samples >= 2 && rulesHealthy(t, base, false) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape the 3 nodes twice after the replay within 60 s (last scrape %v, up %v)", v, c)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rulesHealthy(t, base, true)

	// Every dashboard expression: no error, and data.
	exprs := dashboardExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions in the dashboard", len(exprs))
	}
	for _, expr := range exprs {
		n, err := query(base, expr)
		switch {
		case err != nil:
			t.Errorf("dashboard %q: %v", expr, err)
		case n == 0 && !acmeOnly.MatchString(expr):
			t.Errorf("dashboard %q: no data", expr)
		}
	}

	// Every alert: the expression evaluates, and each series it reads
	// exists (an alert on a missing series would never fire). Most alerts
	// are quiet on a healthy cluster, so their own result is empty.
	selector := regexp.MustCompile(`\b(minitwit_[a-z_]+|up|process_start_time_seconds)\b(\{[^}]*\})?`)
	for _, expr := range alertExprs(t) {
		if _, err := query(base, expr); err != nil {
			t.Errorf("alert %q: %v", expr, err)
		}
		for _, sel := range selector.FindAllString(expr, -1) {
			if acmeOnly.MatchString(sel) {
				continue
			}
			if n, err := query(base, sel); err != nil || n == 0 {
				t.Errorf("alert %q reads %s, which has no data (%v)", strings.Join(strings.Fields(expr), " "), sel, err)
			}
		}
	}
}

func scrape(t *testing.T, n *node.Node, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.HTTPAddr()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return body
}

// startPrometheus runs prometheus on a free loopback port, scraping the
// nodes every second with alerts.yml loaded, and stops it when the test
// ends. It returns the API's base URL once Prometheus is ready.
func startPrometheus(t *testing.T, bin string, nodes []*node.Node, token string) string {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs(filepath.Join("..", "deploy", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, n := range nodes {
		targets = append(targets, fmt.Sprintf("%q", n.HTTPAddr()))
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: minitwit
    authorization:
      type: Bearer
      credentials_file: %q
    static_configs:
      - targets: [%s]
`, rules, tokenFile, strings.Join(targets, ", "))
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A free port: the listener is closed just before Prometheus binds it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus' log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus is not ready after 20 s:\n%s", logs.String())
		}
	}
}

// query evaluates expr now and returns how many series (or 1 for a
// scalar) it gave.
func query(base, expr string) (int, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s", r.Error)
	}
	if r.Data.ResultType == "scalar" || r.Data.ResultType == "string" {
		return 1, nil
	}
	var series []json.RawMessage
	if err := json.Unmarshal(r.Data.Result, &series); err != nil {
		return 0, err
	}
	return len(series), nil
}

// queryScalar evaluates an expression that gives one series and returns
// its value.
func queryScalar(base, expr string) (float64, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("no single result (%v)", err)
	}
	var v float64
	s, _ := r.Data.Result[0].Value[1].(string)
	_, err = fmt.Sscan(s, &v)
	return v, err
}

// rulesHealthy reports whether Prometheus has evaluated every rule of
// alerts.yml without an error; with report, a rule in error fails the test.
func rulesHealthy(t *testing.T, base string, report bool) bool {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/rules")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return false
	}
	n, ok := 0, true
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			n++
			if rule.Health != "ok" {
				ok = false
				if report {
					t.Errorf("rule %s: health %q %s", rule.Name, rule.Health, rule.LastError)
				}
			}
		}
	}
	if report && n != len(alertExprs(t)) {
		t.Errorf("Prometheus loaded %d rules, alerts.yml has %d", n, len(alertExprs(t)))
	}
	return ok && n > 0
}

// dashboardExprs returns every target's expression in the dashboard.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

// alertExprs returns the expr of every rule in alerts.yml. The file is
// read line by line (expr: on one line, or a | block indented below it)
// rather than with a YAML library, which the module does not otherwise
// need; promtool check rules (TestAlertRules) validates the YAML itself.
func alertExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		rest, ok := strings.CutPrefix(trimmed, "expr:")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest != "|" {
			out = append(out, rest)
			continue
		}
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		var block []string
		for i+1 < len(lines) {
			next := lines[i+1]
			if strings.TrimSpace(next) != "" && len(next)-len(strings.TrimLeft(next, " ")) <= indent {
				break
			}
			block = append(block, strings.TrimSpace(next))
			i++
		}
		out = append(out, strings.TrimSpace(strings.Join(block, "\n")))
	}
	return out
}
