package httpui

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// splitForwarded flattens X-Forwarded-For header values into hops.
func splitForwarded(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when this node can serve reads and writes, 503 (with
// the same body and a reason) otherwise, so a load balancer can route
// around it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.opts.Status.Status()
	code := http.StatusOK
	if !st.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Build)
}

// metrics serves Prometheus text to a scraper holding metrics.token, or to
// a browser with an admin's session. There is no loopback exemption: a
// reverse proxy on the same host would turn it into a public exemption.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" && s.isAdminSession(r) {
		// An admin looking at the figures in a browser.
	} else if !s.bearerOK(w, r, s.opts.MetricsToken, "metrics", "metrics need metrics.token (or MINITWIT_METRICS_TOKEN) sent as a bearer token, or an admin's session") {
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	s.opts.Metrics.WritePrometheus(w)
}

// bearerOK checks the request's bearer token against token in constant
// time and answers 403 (no token configured: disabled) or 401 itself; a
// wrong token is a security event and is logged (without the token).
func (s *Server) bearerOK(w http.ResponseWriter, r *http.Request, token, realm, disabled string) bool {
	if token == "" {
		http.Error(w, disabled, http.StatusForbidden)
		return false
	}
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		s.log.Warn("bearer token refused", "req_id", infoFrom(r.Context()).id, "realm", realm,
			"token_sent", got != "", "ip", s.clientIP(r).String())
		w.Header().Set("WWW-Authenticate", `Bearer realm="minitwit `+realm+`"`)
		http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
		return false
	}
	return true
}
