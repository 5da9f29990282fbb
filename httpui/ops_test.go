package httpui_test

import (
	"encoding/json"
	"fmt"
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
