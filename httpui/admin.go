package httpui

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"minitwit/node/nodeinfo"
	"minitwit/ops"
	"minitwit/store"
)

// The admin page (/admin): server-rendered pages for users whose account
// carries the admin flag, each working without JavaScript; a small script
// (static/admin.js) only adds the live parts (log tail, chart refresh).
//
//	GET  /admin                       overview: nodes, counts, graders' view, warnings, backups
//	GET  /admin/charts?node=ID        SVG charts of one node's sampled figures
//	GET  /admin/logs?node=ID          recent log lines, filters, live tail (SSE), download
//	GET  /admin/messages?user=&q=     moderation: find messages, flag/unflag
//	GET  /admin/users?q=              users: search, make/revoke admin
//	GET  /admin/backup                a backup, downloaded
//	GET  /admin/2fa                   the admin's own two-factor sign-in (totp.go)
//	GET  /admin/audit?before=         the audit trail of operator actions (adminaudit.go)
//
// Anonymous visitors are sent to /login; signed-in users without the flag
// get 403. Everything that changes state is a POST through Raft, behind the
// same cross-origin protection as the rest of the UI.

// AdminBackend is what the admin pages need from the node beyond the
// store: the cluster's view, per-node samples and logs, and backups.
type AdminBackend interface {
	// Overview describes every member of the cluster; members that cannot
	// be reached are listed with Err set.
	Overview(ctx context.Context) nodeinfo.Overview
	// MemberIDs names this node and every member, without asking them.
	MemberIDs() (self string, ids []string)
	// Samples returns a node's sampled figures since a time, oldest first.
	Samples(ctx context.Context, nodeID string, since time.Time) ([]ops.Point, error)
	// RecentLogs returns up to max of a node's recent log lines, oldest
	// first.
	RecentLogs(ctx context.Context, nodeID string, max int) ([]string, error)
	// TailLogs streams a node's new log lines until ctx ends; a closed
	// channel means the source ended first (a member went away).
	TailLogs(ctx context.Context, nodeID string) (<-chan string, error)
	// DownloadLogs writes a node's current log file (or, without one, its
	// in-memory lines) to w, and names the download.
	DownloadLogs(ctx context.Context, nodeID string, w io.Writer, name func(string)) error
}

// adminData is what an admin page template may show.
type adminData struct {
	User    *store.User
	Flashes []string
	Section string
	Now     time.Time

	// Overview.
	Overview                nodeinfo.Overview
	Counts                  store.Counts
	Latest                  string
	Freshness               string
	Fresh, NoMessages       bool
	FaultTolerance          string // voters, quorum, failures survived
	FaultToleranceOK        bool
	SimPerMin, SimErrPerMin float64
	Backup                  *nodeinfo.BackupInfo
	DataBytes               int64
	JoinToken               string // only on the answer to "Reveal join token"

	// Charts and logs: the node shown, and the choices.
	Node    string
	NodeIDs []string
	Charts  []template.HTML
	Hours   int
	Lines   []logLine
	Level   string
	Query   string

	// Moderation and users.
	Messages  []store.Message
	UserQuery string
	TextQuery string
	OlderURL  string
	Back      string // this page, for forms to return to
	LiveURL   string // what the page's script fetches or streams
	Users     []store.User
	Admins    []store.User
	Summary   string // the users page's counts, in words
	Error     string

	// Two-factor sign-in (totp.go).
	TOTP *totpView

	// The audit trail (adminaudit.go).
	Audit     []auditRow
	AuditKeep int
}

func (s *Server) adminRoutes() {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "Cross-origin request refused.")
	}))
	admin := func(pattern string, h func(http.ResponseWriter, *http.Request, *adminData)) {
		var handler http.Handler = s.requireAdmin(h)
		if strings.HasPrefix(pattern, "POST ") {
			handler = s.detach(handler) // a moderation outlives the tab, like every write
		}
		s.mux.Handle(pattern, cop.Handler(handler))
	}
	admin("GET /admin", s.adminOverview)
	admin("GET /admin/{$}", s.adminOverview)
	admin("GET /admin/charts", s.adminCharts)
	admin("GET /admin/logs", s.adminLogs)
	admin("GET /admin/logs/stream", s.adminLogStream)
	admin("GET /admin/logs/download", s.adminLogDownload)
	admin("GET /admin/messages", s.adminMessages)
	admin("POST /admin/messages/{id}/flag", s.adminFlag)
	admin("POST /admin/messages/{id}/unflag", s.adminFlag)
	admin("GET /admin/users", s.adminUsers)
	admin("POST /admin/users/{name}/admin", s.adminSetAdmin)
	admin("POST /admin/users/{name}/signout", s.adminSignOut)
	admin("GET /admin/backup", s.adminDownloadBackup)
	admin("GET /admin/2fa", s.admin2FA)
	admin("POST /admin/2fa", s.admin2FAConfirm)
	admin("POST /admin/join-token", s.adminRevealToken)
	admin("GET /admin/audit", s.adminAudit)
}

// requireAdmin lets admins through with their page data started; sends
// anonymous visitors to the login page and refuses everyone else with 403.
func (s *Server) requireAdmin(h func(http.ResponseWriter, *http.Request, *adminData)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Admin == nil {
			s.errorPage(w, r, http.StatusNotFound, "This node has no admin page.")
			return
		}
		st, user, ok := s.viewer(w, r)
		switch {
		case !ok:
			return
		case user == nil:
			redirect(w, r, loginThenBack(r))
			return
		case user.TemporaryPassword:
			s.flash(w, r, msgMustChangePassword)
			redirect(w, r, "/login/password")
			return
		case !user.Admin:
			s.log.Warn("admin page refused: not an admin", "req_id", infoFrom(r.Context()).id,
				"user", user.Name, "ip", s.clientIP(r).String())
			s.errorPage(w, r, http.StatusForbidden, "The admin page is for admins only.")
			return
		case r.Method != http.MethodGet && r.Method != http.MethodHead && s.refuseCrossSite(w, r):
			return
		case r.URL.Path != "/admin/2fa" && s.needsEnrollment(st, *user):
			// admin.require_2fa: enrolling comes before anything else.
			s.flash(w, r, msgEnroll2FA)
			redirect(w, r, "/admin/2fa")
			return
		}
		h(w, r, &adminData{User: user, Now: time.Now().UTC()})
	}
}

// isAdminSession tells whether the request carries an admin's session; it
// never answers the request itself.
func (s *Server) isAdminSession(r *http.Request) bool {
	u := s.sessionUser(r)
	if u == nil || !u.Admin || u.TemporaryPassword {
		return false
	}
	st, err := s.opts.Reader.ReadStore(r.Context())
	return err == nil && !s.needsEnrollment(st, *u)
}

// sessionUser is the signed-in user of the request, or nil; unlike viewer
// it never answers the request, nor renews or clears the cookie.
func (s *Server) sessionUser(r *http.Request) *store.User {
	if _, ok := s.readCookie(r, sessionCookie); !ok {
		return nil
	}
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		return nil
	}
	u, _, ok := s.sessionAccount(r, st)
	if !ok {
		return nil
	}
	return &u
}

// renderAdmin executes an admin page into a buffer first, like render.
func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, name string, data *adminData) {
	s.renderAdminStatus(w, r, http.StatusOK, name, data)
}

// renderAdminStatus is renderAdmin answering with status.
func (s *Server) renderAdminStatus(w http.ResponseWriter, r *http.Request, status int, name string, data *adminData) {
	if data.Flashes == nil {
		data.Flashes = s.takeFlashes(w, r)
	}
	data.Section = name
	data.Back = r.URL.RequestURI()
	var buf bytes.Buffer
	if err := s.pages.admin[name].ExecuteTemplate(&buf, "admin_layout", data); err != nil {
		s.log.Error("render admin page", "page", name, "req_id", infoFrom(r.Context()).id, "err", err.Error())
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeBody(w, status, "text/html; charset=utf-8", buf.Bytes())
}

// freshAfter is how old the newest public message may be for the public
// timeline to count as fresh: the simulator posts every few seconds while
// it runs, so minutes without a new message mean it stopped, or writes do
// not get through.
const freshAfter = 5 * time.Minute

func (s *Server) adminOverview(w http.ResponseWriter, r *http.Request, d *adminData) {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	d.Overview = s.opts.Admin.Overview(r.Context())
	err = st.View(func(tx *store.ReadTx) error {
		d.Counts = tx.Counts()
		if v, ok := tx.Latest(); ok {
			d.Latest = fmt.Sprint(v)
		} else {
			d.Latest = "none yet"
		}
		page, err := tx.PublicTimeline(store.Page{Limit: 1})
		switch {
		case err != nil || len(page.Messages) == 0:
			d.Freshness, d.NoMessages = "no messages yet", true
		default:
			age := time.Since(time.Unix(page.Messages[0].PubDate, 0))
			d.Fresh = age < freshAfter
			d.Freshness = "newest message " + roundAge(age) + " old"
		}
		return nil
	})
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	var commit uint64
	for _, n := range d.Overview.Nodes {
		commit = max(commit, n.CommitIndex)
	}
	d.FaultTolerance, d.FaultToleranceOK = faultTolerance(d.Overview.Nodes)
	d.Overview.Warnings = append(d.Overview.Warnings, timingWarnings(d.Overview)...)
	for i := range d.Overview.Nodes {
		n := &d.Overview.Nodes[i]
		if n.Err == "" && commit > n.AppliedIndex {
			n.Lag = commit - n.AppliedIndex
		}
		if n.ID == d.Overview.Self {
			d.DataBytes = n.DataBytes
		}
		if n.Last != nil {
			d.SimPerMin += n.Last.SimRequestsPerMin
			d.SimErrPerMin += n.Last.SimErrorsPerMin
		}
	}
	// Only the leader takes scheduled backups: show the newest any node
	// reports (a follower that led earlier may hold the last one).
	for _, n := range d.Overview.Nodes {
		if b := n.Backup; b != nil && (d.Backup == nil || b.LastGood.After(d.Backup.LastGood) ||
			(n.Role == "leader" && !b.LastGood.Before(d.Backup.LastGood))) {
			d.Backup = b
		}
	}
	s.renderAdmin(w, r, "overview", d)
}

// adminRevealToken answers "Reveal join token" with the overview and the
// token on it: the token is total control over the cluster (it admits a
// member, which holds every secret), so it is in no page by default, only
// on the answer to an admin's same-site POST, which is logged with the
// admin's name (the answer is never cached: renderAdmin says no-store).
func (s *Server) adminRevealToken(w http.ResponseWriter, r *http.Request, d *adminData) {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	var sec store.ClusterSecrets
	if err := st.View(func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil }); err != nil {
		s.unavailable(w, r, err)
		return
	}
	if len(sec.JoinToken) == 0 {
		d.Flashes = []string{"The cluster has no join token yet."}
	} else {
		d.JoinToken = string(sec.JoinToken)
		s.log.Warn("join token revealed", "user", d.User.Name, "req_id", infoFrom(r.Context()).id, "ip", s.clientIP(r).String())
		s.record(r.Context(), d.User.Name, "reveal join token", "")
	}
	s.adminOverview(w, r, d)
}

// roundAge writes an age the way a person reads it at a glance.
func roundAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Truncate(time.Second).String()
	case d < time.Hour:
		return d.Truncate(time.Minute).String()
	default:
		return d.Truncate(time.Hour).String()
	}
}

// nodeChoice resolves ?node= to a member id (default: this node) and fills
// the page's list of nodes.
func (s *Server) nodeChoice(r *http.Request, d *adminData) {
	self, ids := s.opts.Admin.MemberIDs()
	d.NodeIDs = append(d.NodeIDs, ids...)
	sort.Strings(d.NodeIDs)
	d.Node = r.URL.Query().Get("node")
	if d.Node == "" {
		d.Node = self
	}
}

// chartSpecs are the admin page's charts: one figure each, with its unit.
var chartSpecs = []struct {
	title, unit string
	series      []string
	value       func(ops.Point) []float64
	count       bool // whole numbers: ticks at integers
}{
	{"Requests", "req/s", []string{"requests"}, func(p ops.Point) []float64 { return []float64{p.RequestsPerSec} }, false},
	{"Server errors (5xx)", "err/s", []string{"5xx"}, func(p ops.Point) []float64 { return []float64{p.ErrorsPerSec} }, false},
	{"Latency", "ms", []string{"p50", "p99"}, func(p ops.Point) []float64 { return []float64{p.P50Ms, p.P99Ms} }, false},
	{"Simulator", "/min", []string{"requests", "errors"}, func(p ops.Point) []float64 { return []float64{p.SimRequestsPerMin, p.SimErrorsPerMin} }, true},
	{"Writes (Raft entries applied)", "/s", []string{"writes"}, func(p ops.Point) []float64 { return []float64{p.WritesPerSec} }, false},
	{"Raft lag (committed, not applied)", "entries", []string{"lag"}, func(p ops.Point) []float64 { return []float64{p.RaftLag} }, true},
	{"Memory (Go heap)", "MiB", []string{"heap"}, func(p ops.Point) []float64 { return []float64{p.HeapMiB} }, false},
}

// chartGap is how far apart two samples may be before the line breaks.
const chartGap = 30 * time.Second

func (s *Server) adminCharts(w http.ResponseWriter, r *http.Request, d *adminData) {
	s.nodeChoice(r, d)
	d.Hours = 1
	if h, err := strconv.Atoi(r.URL.Query().Get("hours")); err == nil {
		d.Hours = h
	}
	d.Hours = min(max(d.Hours, 1), 24)
	d.LiveURL = "/admin/charts?" + url.Values{"partial": {"1"}, "node": {d.Node}, "hours": {strconv.Itoa(d.Hours)}}.Encode()
	pts, err := s.opts.Admin.Samples(r.Context(), d.Node, time.Now().Add(-time.Duration(d.Hours)*time.Hour))
	if err != nil {
		s.log.Warn("admin charts: asking a member failed", "req_id", infoFrom(r.Context()).id, "member", d.Node, "err", err.Error())
		if r.URL.Query().Get("partial") == "1" {
			http.Error(w, memberProblem(d.Node, err), nodeErrorStatus(err))
			return
		}
		d.Error = memberProblem(d.Node, err)
	}
	times := make([]time.Time, len(pts))
	for i, p := range pts {
		times[i] = p.At
	}
	for _, spec := range chartSpecs {
		// 440 units wide: two charts side by side on a wide screen, one
		// under the other on a phone, with readable text in both.
		c := ops.Chart{Title: spec.title, Unit: spec.unit, Times: times, Width: 440, Height: 190, Gap: chartGap, Integer: spec.count}
		for i, name := range spec.series {
			vals := make([]float64, len(pts))
			for j, p := range pts {
				vals[j] = spec.value(p)[i]
			}
			c.Series = append(c.Series, ops.ChartSeries{Name: name, Values: vals})
		}
		d.Charts = append(d.Charts, c.SVG())
	}
	if r.URL.Query().Get("partial") == "1" {
		// The page's script swaps the charts in place every sample.
		var buf bytes.Buffer
		for _, c := range d.Charts {
			buf.WriteString(string(c))
		}
		w.Header().Set("Cache-Control", "no-store")
		writeBody(w, http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
		return
	}
	s.renderAdmin(w, r, "charts", d)
}

func (s *Server) adminDownloadBackup(w http.ResponseWriter, r *http.Request, d *adminData) {
	if !s.operationsOK(w) {
		return
	}
	s.log.Info("backup downloaded from the admin page", "req_id", infoFrom(r.Context()).id, "user", d.User.Name)
	if s.streamBackup(w, r, "minitwit-"+time.Now().UTC().Format("20060102-150405")+".mtb") {
		s.record(r.Context(), d.User.Name, "download backup", "")
	}
}

// adminLongRunning are the admin routes that stream for longer than the
// usual request deadline.
func adminLongRunning(path string) bool {
	return strings.HasPrefix(path, adminAPIPrefix) || path == "/admin/backup" ||
		path == "/admin/logs/stream" || path == "/admin/logs/download"
}
