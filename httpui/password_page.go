package httpui

import (
	"errors"
	"fmt"
	"net/http"

	"minitwit/httpui/auth"
	"minitwit/raftfsm"
	"minitwit/store"
)

// The password page (/login/password): a signed-in user replaces their
// password. A user holding a one-time password (a new admin's, or one an
// admin reset) is sent here right after signing in, and the admin pages
// send them here until they have chosen their own. It lives under /login
// because "login" cannot be a user name, so the path never shadows a
// profile.

const (
	msgPasswordChanged    = "Your password was changed"
	msgNewPasswordSame    = "The new password must differ from the current one"
	msgMustChangePassword = "Choose a new password: the one you signed in with was for one sign-in only"
)

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request) {
	if user, ok := s.signedIn(w, r); ok {
		s.render(w, r, http.StatusOK, "password", &pageData{User: user, MinPassword: auth.MinPasswordLen})
	}
}

func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request) {
	user, ok := s.signedIn(w, r)
	if !ok || s.refuseCrossSite(w, r) || !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	refuse := func(msg string) {
		s.render(w, r, http.StatusBadRequest, "password", &pageData{User: user, MinPassword: auth.MinPasswordLen, Error: msg})
	}
	match, _, err := s.hasher.Verify(r.Context(), f.Get("current"), user.PasswordHash)
	switch {
	case err != nil && !errors.Is(err, auth.ErrBadHash):
		s.unavailable(w, r, err)
		return
	case !match:
		s.log.Warn("password change refused: wrong current password", "req_id", infoFrom(r.Context()).id,
			"user", user.Name, "ip", s.clientIP(r).String())
		refuse(msgBadPassword)
		return
	case len(f.Get("password")) < auth.MinPasswordLen:
		refuse(fmt.Sprintf("The new password must be at least %d characters", auth.MinPasswordLen))
		return
	case f.Get("password") != f.Get("password2"):
		refuse("The two passwords do not match")
		return
	case f.Get("password") == f.Get("current"):
		refuse(msgNewPasswordSame)
		return
	}
	hash, err := s.hasher.Hash(r.Context(), f.Get("password"))
	if err == nil {
		err = s.propose(r.Context(), &raftfsm.SetPassword{User: user.Name, Hash: hash, Old: user.PasswordHash})
	}
	if errors.Is(err, store.ErrPasswordChanged) {
		s.endSession(w, r)
		s.flash(w, r, "Your password was reset meanwhile; sign in with the new one")
		redirect(w, r, "/login")
		return
	}
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	// The new password ended every session of the old one, this one too.
	if err := s.startSession(w, r, store.User{ID: user.ID, PasswordHash: hash}); err != nil {
		s.unavailable(w, r, err)
		return
	}
	s.log.Info("password changed", "req_id", infoFrom(r.Context()).id, "user", user.Name, "ip", s.clientIP(r).String())
	s.flash(w, r, msgPasswordChanged)
	if user.Admin {
		redirect(w, r, "/admin")
		return
	}
	redirect(w, r, "/")
}
