// Package ops owns what an operator needs from a running node besides the
// application itself: the metrics registry, logging (stdout, a rotating
// file, the in-memory ring the admin page tails), build information, the
// in-process sampler of the admin page's figures (sampler.go) and the SVG
// line charts that draw them (chart.go, drawn on the server so the page
// needs neither JavaScript nor a metrics service). Backups live in
// ops/backup. It depends only on the standard library and small libraries
// (VictoriaMetrics/metrics, lumberjack), never on the rest of MiniTwit.
//
// Metric names follow the course's convention (minitwit_http_responses_total,
// minitwit_request_duration_seconds, ...) and carry only bounded labels:
// route patterns and status codes, never raw paths, user names or IPs.
package ops
