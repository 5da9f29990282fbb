// Package ops owns what an operator needs from a running node besides the
// application itself: the metrics registry, logging, build information and
// (in later work) backups. It depends only on the standard library and
// small libraries (VictoriaMetrics/metrics), never on the rest of MiniTwit.
//
// Metric names follow the course's convention (minitwit_http_responses_total,
// minitwit_request_duration_seconds, ...) and carry only bounded labels:
// route patterns and status codes, never raw paths, user names or IPs.
package ops
