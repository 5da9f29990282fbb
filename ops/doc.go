// Package ops owns what an operator needs from a running node besides the
// application itself: the metrics registry, logging (stdout, a rotating
// file, the in-memory ring the admin page tails), build information, the
// in-process sampler of the admin page's figures (sampler.go) and the SVG
// line charts that draw them (chart.go, drawn on the server so the page
// needs neither JavaScript nor a metrics service), and the per-source cap
// on the public listener's connections (sourceconns.go). Backups live in
// ops/backup, the in-node alerts (deploy/alerts.yml's rules evaluated by the
// leader, and their webhook) in ops/alerting, the response wrapper that
// remembers a handler's status (httpui's log line, node/cluster's audit) in
// ops/httpstatus. It depends only on the standard library and small libraries
// (VictoriaMetrics/metrics, lumberjack, x/term, x/sys), never on the rest of MiniTwit.
//
// Metric names follow the course's convention (minitwit_http_responses_total,
// minitwit_request_duration_seconds, ...) and Prometheus' (base units,
// _total on counters) and carry only bounded labels: route patterns and
// status codes, never raw paths, user names or IPs. Choices:
//   - families (families.go) is the one list of what /metrics serves, with
//     each family's type and HELP text; the library writes the samples and
//     WritePrometheus adds the metadata, and leaves out the runtime
//     families that are not listed (malformed ones among them).
//   - Labelled series that dashboards and alerts read exist at 0 from the
//     start (NewMetrics), so "no errors" reads 0, not "No data".
//   - Logs are formatted once, as JSON (the admin page's log view parses
//     it); text for a terminal is made from that JSON in the writer
//     (ConsoleWriter), off the request path.
package ops
