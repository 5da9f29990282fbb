package httpui

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"minitwit/node/nodeinfo"
)

// The admin page's logs: the recent lines of any node, filtered by level
// and text, a live tail over server-sent events (the page works without
// it: reloading shows the newest lines), and a download of the node's
// current log file.

// logLine is one JSON log line, parsed enough to show and filter it.
type logLine struct {
	Time, Level, Msg string
	Raw              string
}

// parseLogLine reads the fields the page shows; a line that is not JSON is
// shown whole.
func parseLogLine(raw string) logLine {
	var f struct {
		Time  string `json:"time"`
		Level string `json:"level"`
		Msg   string `json:"msg"`
	}
	l := logLine{Raw: raw}
	if json.Unmarshal([]byte(raw), &f) == nil {
		l.Level, l.Msg = f.Level, f.Msg
		if t, err := time.Parse(time.RFC3339Nano, f.Time); err == nil {
			l.Time = t.UTC().Format("15:04:05.000")
		}
	}
	return l
}

// Attrs is the rest of the line, key=value in key order, for reading (the
// raw line stays what filters and downloads use).
func (l logLine) Attrs() string {
	var m map[string]any
	if json.Unmarshal([]byte(l.Raw), &m) != nil {
		return l.Raw
	}
	delete(m, "time")
	delete(m, "level")
	delete(m, "msg")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		if s, ok := m[k].(string); ok {
			b.WriteString(s)
		} else {
			v, _ := json.Marshal(m[k])
			b.Write(v)
		}
	}
	return b.String()
}

// logFilter keeps lines at or above a level and containing a text
// (case-insensitively).
type logFilter struct {
	min   slog.Level
	query string
}

func newLogFilter(r *http.Request) (logFilter, string, string) {
	level, query := r.URL.Query().Get("level"), r.URL.Query().Get("q")
	f := logFilter{min: slog.LevelDebug, query: strings.ToLower(query)}
	if level != "" && f.min.UnmarshalText([]byte(level)) != nil {
		level, f.min = "", slog.LevelDebug
	}
	return f, level, query
}

// keep judges a raw line; it decodes the line only for a level filter, so
// an unfiltered page or tail does not parse every line it passes by.
func (f logFilter) keep(raw string) bool {
	if f.query != "" && !strings.Contains(strings.ToLower(raw), f.query) {
		return false
	}
	if f.min > slog.LevelDebug {
		var lv slog.Level
		if lv.UnmarshalText([]byte(parseLogLine(raw).Level)) != nil || lv < f.min {
			return false
		}
	}
	return true
}

// logPageLines is how many recent lines the page shows (and looks through
// for the filter).
const (
	logPageLines = 300
	logScanLines = 10_000
)

func (s *Server) adminLogs(w http.ResponseWriter, r *http.Request, d *adminData) {
	s.nodeChoice(r, d)
	f, level, query := newLogFilter(r)
	d.Level, d.Query = level, query
	d.LiveURL = "/admin/logs/stream?" + url.Values{"node": {d.Node}, "level": {level}, "q": {query}}.Encode()
	raw, err := s.opts.Admin.RecentLogs(r.Context(), d.Node, logScanLines)
	if err != nil {
		s.log.Warn("admin logs: asking a member failed", "req_id", infoFrom(r.Context()).id, "member", d.Node, "err", err.Error())
		d.Error = memberProblem(d.Node, err)
	}
	for i := len(raw) - 1; i >= 0 && len(d.Lines) < logPageLines; i-- {
		if f.keep(raw[i]) {
			d.Lines = append(d.Lines, parseLogLine(raw[i]))
		}
	}
	// Oldest first, as a log reads.
	for i, j := 0, len(d.Lines)-1; i < j; i, j = i+1, j-1 {
		d.Lines[i], d.Lines[j] = d.Lines[j], d.Lines[i]
	}
	s.renderAdmin(w, r, "logs", d)
}

// sseKeepAlive is how often an idle stream sends a comment, so proxies
// and the browser keep the connection.
const sseKeepAlive = 15 * time.Second

// adminLogStream is the live tail: new lines of one node, filtered, as
// server-sent events whose data is the JSON line.
func (s *Server) adminLogStream(w http.ResponseWriter, r *http.Request, d *adminData) {
	s.nodeChoice(r, d)
	// A tail lasts as long as the page is open: its duration says nothing
	// about how fast the node answers, so it stays out of the latency
	// figures.
	infoFrom(r.Context()).stream = true
	f, _, _ := newLogFilter(r)
	lines, err := s.opts.Admin.TailLogs(r.Context(), d.Node)
	if err != nil {
		http.Error(w, memberProblem(d.Node, err), nodeErrorStatus(err))
		return
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // the stream ends with the request's context
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx in front must not buffer
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, "retry: 2000\n: tailing "+d.Node+"\n\n")
	if bw.Flush() != nil || rc.Flush() != nil {
		return
	}
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-keepAlive.C:
			fmt.Fprint(bw, ": keep-alive\n\n")
		case line, ok := <-lines:
			if !ok {
				return
			}
			// Whatever queued up behind it goes in the same write.
			for more := true; more; {
				if f.keep(line) {
					// A JSON line holds no raw newline: one data field.
					fmt.Fprintf(bw, "data: %s\n\n", strings.ReplaceAll(line, "\n", " "))
				}
				select {
				case line, more = <-lines:
				default:
					more = false
				}
			}
		}
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
	}
}

func (s *Server) adminLogDownload(w http.ResponseWriter, r *http.Request, d *adminData) {
	s.nodeChoice(r, d)
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(adminAPITimeout))
	started := false
	err := s.opts.Admin.DownloadLogs(r.Context(), d.Node, w, func(name string) {
		started = true
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.NewReplacer(`"`, "", "/", "_").Replace(name)+`"`)
	})
	if err != nil && !started {
		http.Error(w, memberProblem(d.Node, err), nodeErrorStatus(err))
	}
}

// nodeErrorStatus is the answer when another node could not be asked: 404
// for an id that is no member, 502 for a member that did not answer.
func nodeErrorStatus(err error) int {
	if errors.Is(err, nodeinfo.ErrUnknownNode) {
		return http.StatusNotFound
	}
	return http.StatusBadGateway
}
