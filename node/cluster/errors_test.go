package cluster

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"minitwit/raftfsm"
)

// TestFailureCodesRoundTrip: every code rpcFail writes comes back from
// failureCode with its message, under the status it was given; answers
// from members older than the codes are read as they were meant.
func TestFailureCodesRoundTrip(t *testing.T) {
	for code, status := range rpcCodeStatus {
		w := httptest.NewRecorder()
		rpcFail(w, code, errors.New("why"))
		if w.Code != status {
			t.Errorf("%s: status %d, want %d", code, w.Code, status)
		}
		if got, msg := failureCode(w.Code, w.Body.Bytes()); got != code || msg != "why" {
			t.Errorf("%s: read back as %q %q", code, got, msg)
		}
	}
	old := []struct {
		status int
		body   string
		want   string
	}{
		{http.StatusConflict, raftfsm.ErrOlderMembers.Error() + " (node2 reads up to 2)", codeFormatRefused},
		{http.StatusConflict, "leadership lost", codeOutcomeUnknown},
		{http.StatusMisdirectedRequest, "not the leader", codeNotLeader},
		{http.StatusServiceUnavailable, "shutting down", ""},
	}
	for _, o := range old {
		if got, _ := failureCode(o.status, []byte(o.body)); got != o.want {
			t.Errorf("old answer %d %q: code %q, want %q", o.status, o.body, got, o.want)
		}
	}
}

// TestRouteTableIsOneMux: every route is registered once, under its own
// method and path, and nothing else is served.
func TestRouteTableIsOneMux(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range routes {
		if seen[rt.path] {
			t.Errorf("path %s is in the route table twice", rt.path)
		}
		seen[rt.path] = true
	}
	h := (&Server{}).handler().(*http.ServeMux)
	for _, rt := range routes {
		if _, pattern := h.Handler(httptest.NewRequest(rt.method, rt.path, nil)); pattern != rt.method+" "+rt.path {
			t.Errorf("%s %s is served by %q", rt.method, rt.path, pattern)
		}
	}
	if _, pattern := h.Handler(httptest.NewRequest(http.MethodGet, "/nothing", nil)); pattern != "" {
		t.Errorf("an unknown path is served by %q", pattern)
	}
}
