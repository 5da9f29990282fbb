package httpui_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"minitwit/node/config"
	"minitwit/ops/testwait"
)

func TestOpsEndpoints(t *testing.T) {
	t.Parallel()
	a := apiStart(t, nil)
	a.runAll(t, []apiCase{
		{name: "healthz", method: "GET", target: "/healthz", auth: apiNoAuth, status: 200},
		{name: "metrics disabled", method: "GET", target: "/metrics", auth: apiNoAuth, status: 403, contains: []string{"metrics.token"}},
		{name: "metrics disabled whatever the bearer", method: "GET", target: "/metrics", auth: "Bearer ", status: 403},
	})

	r := a.do(t, "GET", "/readyz", "", apiNoAuth, nil)
	if r.status != 200 {
		t.Fatalf("GET /readyz: %d %s", r.status, r.body)
	}
	var ready map[string]any
	if err := json.Unmarshal(r.body, &ready); err != nil {
		t.Fatalf("GET /readyz: %q is not a JSON object: %v", r.body, err)
	}
	keys := make([]string, 0, len(ready))
	for k := range ready {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"applied_index", "commit_index", "leader", "node_id", "role"}; !slices.Equal(keys, want) {
		t.Errorf("/readyz keys %v, want %v", keys, want)
	}
	if ready["node_id"] != "test-node" || ready["role"] != "leader" || ready["leader"] == "" {
		t.Errorf("/readyz = %s, want node_id test-node, role leader and a leader", r.body)
	}
	for _, k := range []string{"applied_index", "commit_index"} {
		if n, ok := ready[k].(float64); !ok || n < 1 {
			t.Errorf("/readyz %s = %v, want a positive number", k, ready[k])
		}
	}

	r = a.do(t, "GET", "/version", "", apiNoAuth, nil)
	var v map[string]string
	if err := json.Unmarshal(r.body, &v); r.status != 200 || err != nil {
		t.Fatalf("GET /version: %d %q %v", r.status, r.body, err)
	}
	if v["version"] != "test" || v["go_version"] == "" {
		t.Errorf("/version = %s, want version test and a go_version", r.body)
	}
}

func TestOpsMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "a-metrics-token-for-tests"
	a := apiStart(t, func(c *config.Config) { c.Metrics.Token = token })
	a.runAll(t, []apiCase{
		{name: "an API request to count", method: "GET", target: "/api/latest", status: 200},
		{name: "no token", method: "GET", target: "/metrics", auth: apiNoAuth, status: 401},
		{name: "wrong token", method: "GET", target: "/metrics", auth: "Bearer wrong", status: 401},
		{name: "token as basic", method: "GET", target: "/metrics", auth: apiBasic("x", token), status: 401},
		{name: "token prefix", method: "GET", target: "/metrics", auth: "Bearer " + token[:10], status: 401},
		{name: "token and more", method: "GET", target: "/metrics", auth: "Bearer " + token + "x", status: 401},
	})
	if r := a.do(t, "GET", "/metrics", "", "Bearer wrong", nil); !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer challenge: %q", r.header.Get("WWW-Authenticate"))
	}

	// The counter of a response is updated after it was sent, so poll.
	want := `minitwit_http_responses_total{route="GET /api/latest",status="200"}`
	testwait.UntilNil(t, "/metrics to count the API request", func() error {
		r := a.do(t, "GET", "/metrics", "", "Bearer "+token, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /metrics with the token: %d %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("Content-Type %q, want text/plain", ct)
		}
		if !strings.Contains(string(r.body), want) {
			return fmt.Errorf("/metrics lacks %s:\n%s", want, r.body)
		}
		return nil
	})
}

// TestRequestLogLines: every request logs one line with its method, route
// pattern, path, status, body bytes, duration, client address and request
// id; /favicon.ico and /robots.txt are served, not taken for user pages.
func TestRequestLogLines(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	resp, body := get("/favicon.ico")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(body), "<svg") {
		t.Errorf("/favicon.ico: %d %s %.40q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = get("/robots.txt")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(string(body), "Disallow: /admin/") {
		t.Errorf("/robots.txt: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = get("/nobody-here")
	if resp.StatusCode != 404 {
		t.Fatalf("/nobody-here: %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-Id")

	// The log line is written after the response: wait for it.
	lines := map[string]map[string]any{}
	testwait.Until(t, "request lines for /favicon.ico, /robots.txt and /nobody-here", func() bool {
		for _, l := range n.LogRing().Lines(0) {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
				if p, _ := m["path"].(string); p == "/favicon.ico" || p == "/robots.txt" || p == "/nobody-here" {
					lines[p] = m
				}
			}
		}
		return len(lines) == 3
	})
	for path, route := range map[string]string{"/favicon.ico": "GET /favicon.ico", "/robots.txt": "GET /robots.txt", "/nobody-here": "GET /{username}"} {
		if got := lines[path]["route"]; got != route {
			t.Errorf("%s logged with route %v, want %s", path, got, route)
		}
	}
	l := lines["/nobody-here"]
	for k, want := range map[string]any{"method": "GET", "status": 404.0, "req_id": id, "ip": "127.0.0.1", "bytes": float64(len(body))} {
		if l[k] != want {
			t.Errorf("request line %s = %v, want %v (line %v)", k, l[k], want, l)
		}
	}
	if d, ok := l["dur_ms"].(float64); !ok || d < 0 {
		t.Errorf("request line dur_ms = %v", l["dur_ms"])
	}
}
