package httpui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"minitwit/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page, each the layout plus the page's
// own "title" and "body".
type pages struct {
	byName map[string]*template.Template
	admin  map[string]*template.Template // the admin pages, on their own layout
}

func parsePages() (*pages, error) {
	funcs := template.FuncMap{"userpath": userPath}
	layout, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/flashes.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"timeline", "register", "login", "error", "password", "login_2fa"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	adminFuncs := template.FuncMap{"userpath": userPath, "bytes": humanBytes, "age": roundAge,
		"date": formatDate, "stamp": formatStamp, "pathescape": url.PathEscape,
		"hourChoices":  func() []int { return []int{1, 3, 6, 12, 24} },
		"levelChoices": func() []string { return []string{"DEBUG", "INFO", "WARN", "ERROR"} }}
	adminFuncs["backupProblem"] = backupProblem
	adminFuncs["problem"] = memberProblemText // a member's error, as a sentence
	adminLayout, err := template.New("admin_layout").Funcs(adminFuncs).ParseFS(templateFS, "templates/admin_layout.html", "templates/flashes.html", "templates/admin_alerts.html")
	if err != nil {
		return nil, err
	}
	p.admin = map[string]*template.Template{}
	for _, name := range []string{"overview", "charts", "logs", "messages", "users", "2fa", "audit"} {
		t, err := template.Must(adminLayout.Clone()).ParseFS(templateFS, "templates/admin_"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template admin_%s: %w", name, err)
		}
		p.admin[name] = t
	}
	return p, nil
}

// humanBytes writes a size in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatStamp writes an instant for the admin page (UTC), or "never".
func formatStamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// userPath is the URL path of a user's page; PathEscape keeps names with
// spaces, '?' or '#' intact.
func userPath(name string) template.URL {
	return template.URL("/" + url.PathEscape(name))
}

// pageData is everything a page template may show.
type pageData struct {
	User    *store.User // the logged-in user, nil when anonymous
	Flashes []string

	// Timelines.
	Kind     string // "home", "public" or "user"
	Profile  *store.User
	Followed bool
	Messages []messageView
	OlderURL string

	// Forms.
	Error string
	Form  struct{ Username, Email string }
	Next  string // the sign-in form's page to return to (safeNext)

	// Password page.
	MinPassword int

	// Error page.
	Status     int
	StatusText string
}

type messageView struct {
	Author, Avatar, Text, Date string
}

func formatDate(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("2006-01-02 @ 15:04")
}

func viewMessages(msgs []store.Message, gravatar bool) []messageView {
	out := make([]messageView, len(msgs))
	for i, m := range msgs {
		out[i] = messageView{Author: m.Author, Avatar: avatarURL(m.Email, 48, gravatar), Text: m.Text, Date: formatDate(m.PubDate)}
	}
	return out
}

// render executes a page into a buffer first, so a template error never
// leaves a half-written page behind a 200.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data *pageData) {
	if data.Flashes == nil {
		data.Flashes = s.takeFlashes(w, r)
	}
	var buf bytes.Buffer
	if err := s.pages.byName[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("render page", "page", name, "req_id", infoFrom(r.Context()).id, "err", err.Error())
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	writeBody(w, status, "text/html; charset=utf-8", buf.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	data := &pageData{Status: status, StatusText: http.StatusText(status), Error: msg, Flashes: []string{}}
	if status != http.StatusServiceUnavailable {
		// The menu of whoever is signed in (a 403 or 404 is no reason to
		// look signed out); not on a 503, whose store cannot be read.
		data.User = s.sessionUser(r)
	}
	s.render(w, r, status, "error", data)
}

// staticRoutes registers each embedded file under its exact path: a
// "/static/" prefix pattern would collide with "/{username}/follow".
func (s *Server) staticRoutes() {
	// The files are embedded: a walk that fails is a broken build.
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		s.mux.HandleFunc("GET /"+p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "public, max-age=3600")
			w.Write(body)
		})
		return nil
	})
	if err != nil {
		panic("embedded static files: " + err.Error())
	}
}
