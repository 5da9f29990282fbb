package httpui

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"minitwit/raftfsm"
	"minitwit/store"
)

// Moderation and user administration on the admin page. Changes go
// through Raft like every write, so every node's timelines and API lists
// agree at once.

const (
	adminPageSize = 50
	usersPageSize = 100
)

func (s *Server) adminMessages(w http.ResponseWriter, r *http.Request, d *adminData) {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	q := r.URL.Query()
	d.UserQuery, d.TextQuery = q.Get("user"), q.Get("q")
	search := store.MessageSearch{Author: d.UserQuery, Text: d.TextQuery, Before: before(r), Limit: adminPageSize}
	var next uint64
	var amb *store.AmbiguousNameError
	err = st.View(func(tx *store.ReadTx) error {
		if search.Author != "" {
			// The author the operator typed, as the user actions take names
			// (operatorNamed).
			stored, err := tx.ResolveUsername(search.Author)
			if errors.As(err, &amb) {
				return err
			}
			if err == nil {
				search.Author = stored
			}
		}
		var err error
		d.Messages, next, err = tx.SearchMessages(search)
		return err
	})
	switch {
	case errors.As(err, &amb):
		d.Error = "The name " + amb.Error() + "."
	case errors.Is(err, store.ErrUnknownUser):
		d.Error = "There is no user called " + strconv.Quote(d.UserQuery) + "."
	case err != nil:
		s.unavailable(w, r, err)
		return
	}
	if next != 0 {
		v := url.Values{"user": {d.UserQuery}, "q": {d.TextQuery}, "before": {strconv.FormatUint(next, 10)}}
		d.OlderURL = "/admin/messages?" + v.Encode()
	}
	s.renderAdmin(w, r, "messages", d)
}

// adminFlag flags or unflags one message (the route's last segment says
// which) and returns to the list the form came from.
func (s *Server) adminFlag(w http.ResponseWriter, r *http.Request, d *adminData) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		s.errorPage(w, r, http.StatusBadRequest, "That is not a message id.")
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	flagged := r.Pattern == "POST /admin/messages/{id}/flag"
	err = s.proposeAudited(r.Context(), d.User.Name, &raftfsm.FlagMessage{MessageID: id, Flagged: flagged}, "", "")
	switch {
	case errors.Is(err, store.ErrUnknownMessage):
		s.errorPage(w, r, http.StatusNotFound, "There is no message "+strconv.FormatUint(id, 10)+".")
		return
	case err != nil:
		s.unavailable(w, r, err)
		return
	}
	verb := "unflagged"
	if flagged {
		verb = "flagged"
	}
	s.log.Info("message "+verb+" from the admin page", "req_id", infoFrom(r.Context()).id,
		"user", d.User.Name, "message_id", id)
	s.flash(w, r, "Message "+strconv.FormatUint(id, 10)+" "+verb+".")
	redirect(w, r, backTo(r, "/admin/messages"))
}

// backTo is the form's "back" field when it is a path of the admin page,
// else fallback: never a redirect to another site.
func backTo(r *http.Request, fallback string) string {
	b := r.PostForm.Get("back")
	u, err := url.Parse(b)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.ContainsAny(b, "\\\x00\r\n") {
		return fallback
	}
	// http.Redirect cleans the path: judge the cleaned one.
	if clean := path.Clean(u.Path); clean == "/admin" || strings.HasPrefix(clean, "/admin/") {
		u.Path = clean
		return u.RequestURI()
	}
	return fallback
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request, d *adminData) {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	d.UserQuery = r.URL.Query().Get("q")
	after := r.URL.Query().Get("after")
	err = st.View(func(tx *store.ReadTx) error {
		d.Counts = tx.Counts()
		var err error
		if d.Admins, err = tx.Admins(usersPageSize); err != nil {
			return err
		}
		d.Users, err = tx.SearchUsers(d.UserQuery, after, usersPageSize+1)
		return err
	})
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	d.Summary = countNoun(d.Counts.Users, "user", "users") + ", " + countNoun(d.Counts.Admins, "admin", "admins") + ", " +
		countNoun(d.Counts.Messages, "message", "messages") + ", " + countNoun(d.Counts.Follows, "follow", "follows") + "."
	if len(d.Users) > usersPageSize {
		d.Users = d.Users[:usersPageSize]
		v := url.Values{"q": {d.UserQuery}, "after": {d.Users[len(d.Users)-1].Name}}
		d.OlderURL = "/admin/users?" + v.Encode()
	}
	s.renderAdmin(w, r, "users", d)
}

// operatorNamed resolves the user an admin action names to its stored
// spelling, as `minitwit admin` does (store.ReadTx.ResolveUsername): the
// exact name, else the one that differs only in case or Unicode form. It
// answers the request itself (409) for clashing old names.
func (s *Server) operatorNamed(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return "", false
	}
	var stored string
	var amb *store.AmbiguousNameError
	err = st.View(func(tx *store.ReadTx) error { var err error; stored, err = tx.ResolveUsername(name); return err })
	switch {
	case errors.Is(err, store.ErrUnknownUser):
		// Proposed as typed all the same: the state machine refuses it, and
		// the audit trail records the refused attempt (404 then).
		return name, true
	case errors.As(err, &amb):
		s.errorPage(w, r, http.StatusConflict, "The name "+amb.Error()+".")
		return "", false
	case err != nil:
		s.unavailable(w, r, err)
		return "", false
	}
	return stored, true
}

// adminSetAdmin grants (admin=1) or revokes (admin=0) a user's admin flag.
func (s *Server) adminSetAdmin(w http.ResponseWriter, r *http.Request, d *adminData) {
	if !s.parseForm(w, r) {
		return
	}
	var grant bool
	switch r.PostForm.Get("admin") {
	case "1":
		grant = true
	case "0":
	default:
		s.errorPage(w, r, http.StatusBadRequest, `The form must say admin=1 (grant) or admin=0 (revoke).`)
		return
	}
	name, ok := s.operatorNamed(w, r, r.PathValue("name"))
	if !ok {
		return
	}
	err := s.proposeAudited(r.Context(), d.User.Name, &raftfsm.SetAdmin{User: name, Admin: grant}, "", "")
	switch {
	case errors.Is(err, store.ErrUnknownUser):
		s.errorPage(w, r, http.StatusNotFound, "There is no user called "+strconv.Quote(name)+".")
		return
	case errors.Is(err, store.ErrLastAdmin):
		s.flash(w, r, "The last admin cannot be revoked: make another user an admin first.")
		redirect(w, r, backTo(r, "/admin/users"))
		return
	case err != nil:
		s.unavailable(w, r, err)
		return
	}
	msg := name + " is now an admin."
	if !grant {
		msg = name + " is no longer an admin."
	}
	// A security event: who changed whose rights.
	s.log.Warn("admin rights changed", "req_id", infoFrom(r.Context()).id, "by", d.User.Name,
		"target", name, "admin", grant, "ip", s.clientIP(r).String())
	s.flash(w, r, msg)
	redirect(w, r, backTo(r, "/admin/users"))
}

// adminSignOut ends every session of a user on every node (a stolen
// cookie, a shared computer).
func (s *Server) adminSignOut(w http.ResponseWriter, r *http.Request, d *adminData) {
	if !s.parseForm(w, r) {
		return
	}
	name, ok := s.operatorNamed(w, r, r.PathValue("name"))
	if !ok {
		return
	}
	err := s.proposeAudited(r.Context(), d.User.Name, &raftfsm.EndSessions{User: name}, "sign out everywhere", name)
	switch {
	case errors.Is(err, store.ErrUnknownUser):
		s.errorPage(w, r, http.StatusNotFound, "There is no user called "+strconv.Quote(name)+".")
		return
	case err != nil:
		s.unavailable(w, r, err)
		return
	}
	s.log.Warn("sessions revoked", "req_id", infoFrom(r.Context()).id, "by", d.User.Name,
		"target", name, "ip", s.clientIP(r).String())
	if name == d.User.Name {
		// The admin's own session ended with the others.
		s.flash(w, r, "Every session of "+name+" was signed out, this one too.")
		redirect(w, r, "/login")
		return
	}
	s.flash(w, r, "Every session of "+name+" was signed out.")
	redirect(w, r, backTo(r, "/admin/users"))
}
