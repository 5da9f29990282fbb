package httpui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"minitwit/httpui/auth"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Flash texts checked verbatim by the course's UI tests.
const (
	flashRegistered  = "You were successfully registered and can login now"
	flashLoggedIn    = "You were logged in"
	flashLoggedOut   = "You were logged out"
	flashRecorded    = "Your message was recorded"
	flashFollowing   = `You are now following "%s"`
	flashUnfollowing = `You are no longer following "%s"`
	msgBadUsername   = "Invalid username"
	msgBadPassword   = "Invalid password"
)

// timelinePageSize is the UI's page length, as in the original.
const timelinePageSize = 30

// propose sends a command and folds the store's refusal into the error.
func (s *Server) propose(ctx context.Context, cmd raftfsm.Command) error {
	res, err := s.opts.Proposer.Propose(ctx, cmd)
	if err != nil {
		return err
	}
	return res.Err
}

// unavailable answers a failed read or write that is not the client's fault.
// A client that left is not the node's failure: that is logged as such.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	if clientGone(r) {
		s.log.Info("client gone", "req_id", infoFrom(r.Context()).id, "err", err.Error())
	} else {
		s.log.Warn("request failed", "req_id", infoFrom(r.Context()).id, "err", err.Error())
	}
	s.errorPage(w, r, http.StatusServiceUnavailable, msgUnavailable)
}

// viewer resolves the store and the logged-in user (nil when anonymous). It
// answers the request itself and returns ok=false when the store cannot be
// read.
func (s *Server) viewer(w http.ResponseWriter, r *http.Request) (st *store.Store, user *store.User, ok bool) {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return nil, nil, false
	}
	if _, ok := s.readCookie(r, sessionCookie); !ok {
		return st, nil, true
	}
	u, ss, ok := s.sessionAccount(r, st)
	if !ok {
		// Expired, forged, for a user this data set does not know (say,
		// after a restore) or for a password since replaced: carry on
		// anonymously.
		s.endSession(w, r)
		return st, nil, true
	}
	s.touchSession(w, r, u, ss)
	infoFrom(r.Context()).user = u.Name
	return st, &u, true
}

// signedIn returns the logged-in user, or answers 401 itself.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	_, user, ok := s.viewer(w, r)
	if ok && user == nil {
		s.errorPage(w, r, http.StatusUnauthorized, "You need to sign in first.")
		return nil, false
	}
	return user, ok
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	code := http.StatusFound
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		code = http.StatusSeeOther // the browser follows with a GET
	}
	http.Redirect(w, r, to, code)
}

// before reads the pagination cursor; anything unusable means "newest".
func before(r *http.Request) uint64 {
	v, _ := strconv.ParseUint(r.URL.Query().Get("before"), 10, 64)
	return v
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	st, user, ok := s.viewer(w, r)
	if !ok {
		return
	}
	if user == nil {
		redirect(w, r, "/public")
		return
	}
	s.timeline(w, r, st, &pageData{User: user, Kind: "home"}, func(tx *store.ReadTx, p store.Page) (store.TimelinePage, error) {
		return tx.HomeTimeline(user.ID, p)
	})
}

func (s *Server) publicTimeline(w http.ResponseWriter, r *http.Request) {
	st, user, ok := s.viewer(w, r)
	if !ok {
		return
	}
	s.timeline(w, r, st, &pageData{User: user, Kind: "public"}, func(tx *store.ReadTx, p store.Page) (store.TimelinePage, error) {
		return tx.PublicTimeline(p)
	})
}

func (s *Server) userTimeline(w http.ResponseWriter, r *http.Request) {
	st, user, ok := s.viewer(w, r)
	if !ok {
		return
	}
	data := &pageData{User: user, Kind: "user"}
	s.timeline(w, r, st, data, func(tx *store.ReadTx, p store.Page) (store.TimelinePage, error) {
		profile, err := tx.UserByName(r.PathValue("username"))
		if err != nil {
			return store.TimelinePage{}, err
		}
		data.Profile = &profile
		if user != nil {
			data.Followed = tx.IsFollowing(user.ID, profile.ID)
		}
		return tx.UserTimeline(profile.ID, p)
	})
}

// timeline runs one page query in a read transaction and renders it.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request, st *store.Store, data *pageData,
	query func(*store.ReadTx, store.Page) (store.TimelinePage, error)) {
	var page store.TimelinePage
	err := st.View(func(tx *store.ReadTx) error {
		var err error
		page, err = query(tx, store.Page{Before: before(r), Limit: timelinePageSize})
		return err
	})
	switch {
	case errors.Is(err, store.ErrUnknownUser):
		s.errorPage(w, r, http.StatusNotFound, "There is no such user.")
		return
	case err != nil:
		s.unavailable(w, r, err)
		return
	}
	data.Messages = viewMessages(page.Messages, s.opts.Gravatar)
	if page.Next != 0 {
		data.OlderURL = "?before=" + strconv.FormatUint(page.Next, 10)
	}
	s.render(w, r, http.StatusOK, "timeline", data)
}

func (s *Server) follow(w http.ResponseWriter, r *http.Request)   { s.changeFollow(w, r, true) }
func (s *Server) unfollow(w http.ResponseWriter, r *http.Request) { s.changeFollow(w, r, false) }

// changeFollow serves GET and POST /{username}/follow|unfollow. The GET form
// exists because the original UI used links; a GET sent by another site is
// refused, since SameSite=Lax cookies still ride on top-level GETs.
func (s *Server) changeFollow(w http.ResponseWriter, r *http.Request, follow bool) {
	if r.Method == http.MethodHead {
		// HEAD is safe by definition; the GET pattern also matches it.
		w.Header().Set("Allow", "GET, POST")
		s.errorPage(w, r, http.StatusMethodNotAllowed, "Use GET or POST to follow or unfollow.")
		return
	}
	if r.Method == http.MethodGet {
		if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
			s.errorPage(w, r, http.StatusForbidden, "Following from another site is refused.")
			return
		}
	}
	user, ok := s.signedIn(w, r)
	if !ok || s.refuseCrossSite(w, r) {
		return
	}
	whom := r.PathValue("username")
	var cmd raftfsm.Command = &raftfsm.Follow{Who: user.Name, Whom: whom}
	msg := fmt.Sprintf(flashFollowing, whom)
	if !follow {
		cmd = &raftfsm.Unfollow{Who: user.Name, Whom: whom}
		msg = fmt.Sprintf(flashUnfollowing, whom)
	}
	err := s.propose(r.Context(), cmd)
	switch {
	case errors.Is(err, store.ErrUnknownUser):
		s.errorPage(w, r, http.StatusNotFound, "There is no such user.")
		return
	case errors.Is(err, store.ErrFollowSelf):
		msg = msgFollowSelf
	case err != nil:
		s.unavailable(w, r, err)
		return
	}
	s.flash(w, r, msg)
	redirect(w, r, string(userPath(whom)))
}

// parseForm caps the body and parses the form; it answers 413/400 itself.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.errorPage(w, r, http.StatusRequestEntityTooLarge, "The form is too large.")
		} else {
			s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		}
		return false
	}
	return true
}

func (s *Server) addMessage(w http.ResponseWriter, r *http.Request) {
	user, ok := s.signedIn(w, r)
	if !ok || s.refuseCrossSite(w, r) {
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	text := r.PostForm.Get("text")
	if text == "" {
		redirect(w, r, "/")
		return
	}
	if err := store.ValidateText(text); err != nil {
		s.flash(w, r, fmt.Sprintf("Your message was not recorded: it must be valid text of at most %d bytes", store.MaxMessageBytes))
		redirect(w, r, "/")
		return
	}
	err := s.propose(r.Context(), &raftfsm.PostMessage{Author: user.Name, Text: text, PubDate: time.Now().Unix()})
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	s.flash(w, r, flashRecorded)
	redirect(w, r, "/")
}

// anonymousOnly serves the sign-up and sign-in pages' rule: a logged-in
// user is sent to their timeline. It returns the store when the request
// should go on, and whether it should.
func (s *Server) anonymousOnly(w http.ResponseWriter, r *http.Request, parse bool) (*store.Store, bool) {
	st, user, ok := s.viewer(w, r)
	switch {
	case !ok:
		return nil, false
	case user != nil:
		redirect(w, r, "/")
		return nil, false
	case parse:
		return st, s.parseForm(w, r)
	}
	return st, true
}

func (s *Server) registerForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.anonymousOnly(w, r, false); ok {
		s.render(w, r, http.StatusOK, "register", &pageData{})
	}
}

// Sign-ups through the web form, per source address (IPv6 by /64): 30 at
// once, then one every 10 s. Each costs an argon2id hash and a user in the
// replicated state; without a limit one client created 200 accounts in
// 19 s (attack review), past the API's own limit on open registrations.
// People sign up once; the course's UI tests register a handful.
const (
	uiRegisterBurst = 30
	uiRegisterEvery = 10 * time.Second
)

func (s *Server) registerSubmit(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.anonymousOnly(w, r, true); !ok {
		return
	}
	f := r.PostForm
	// Taken when the request arrives, before the password is hashed, so
	// parallel requests cannot slip past it.
	if wait, ok := s.uiRegisters.allow(s.clientIP(r)); !ok {
		s.log.Warn("registration rate limited", "req_id", infoFrom(r.Context()).id, "ip", s.clientIP(r).String())
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		data := &pageData{Error: "Too many sign-ups from your address. Try again in " + roundAge(wait+time.Second) + "."}
		data.Form.Username, data.Form.Email = f.Get("username"), f.Get("email")
		s.render(w, r, http.StatusTooManyRequests, "register", data)
		return
	}
	reg := registration{Username: f.Get("username"), Email: f.Get("email"), Password: f.Get("password"),
		Repeat: f.Get("password2"), needRepeat: true}
	refusal, err := s.register(r.Context(), reg, raftfsm.Latest{}, func(cmd raftfsm.Command) error {
		return s.propose(r.Context(), cmd)
	})
	switch {
	case err != nil:
		s.unavailable(w, r, err)
	case refusal != "":
		data := &pageData{Error: refusal}
		data.Form.Username, data.Form.Email = reg.Username, reg.Email
		s.render(w, r, http.StatusBadRequest, "register", data)
	default:
		s.flash(w, r, flashRegistered)
		redirect(w, r, "/login")
	}
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.anonymousOnly(w, r, false); ok {
		s.render(w, r, http.StatusOK, "login", &pageData{Next: safeNext(r.URL.Query().Get("next"))})
	}
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	st, ok := s.anonymousOnly(w, r, true)
	if !ok {
		return
	}
	name, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	ip := s.clientIP(r)
	refuse := func(msg string) {
		// The attempted name is logged only as a short hash: people type
		// their password into the name field.
		s.log.Info("login refused", "req_id", infoFrom(r.Context()).id, "reason", msg, "user_hash", nameHash(name), "ip", ip.String())
		data := &pageData{Error: msg, Next: safeNext(r.PostForm.Get("next"))}
		data.Form.Username = name
		s.render(w, r, http.StatusBadRequest, "login", data)
	}
	var u store.User
	known := st.View(func(tx *store.ReadTx) error { var err error; u, err = tx.UserByName(name); return err }) == nil
	// Every attempt is counted before the password is checked, so that
	// parallel guesses cannot slip in before the first failure counts;
	// admin accounts have the stricter budget. Unknown names are counted
	// as well (under the name as typed).
	limiter, account := s.userLogins, name
	if known {
		account = u.Name
		if u.Admin {
			limiter = s.adminLogins
		}
	}
	done, wait, ok := limiter.Begin(ip, account)
	if !ok {
		s.log.Warn("login rate limited", "req_id", infoFrom(r.Context()).id, "user_hash", nameHash(name),
			"admin", known && u.Admin, "ip", ip.String())
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		msg := "Too many failed sign-ins. Try again in " + roundAge(wait+time.Second) + "."
		if known && u.Admin {
			msg = "Too many failed sign-ins to this admin account. Try again in " + roundAge(wait+time.Second) + "."
		}
		data := &pageData{Error: msg, Next: safeNext(r.PostForm.Get("next"))}
		data.Form.Username = name
		s.render(w, r, http.StatusTooManyRequests, "login", data)
		return
	}
	stored := u.PasswordHash
	if !known {
		// An unknown name costs the same hash as a known one, so the
		// answer's timing does not tell which names exist.
		stored = s.dummyHash()
	}
	match, legacy, err := s.hasher.Verify(r.Context(), password, stored)
	if !known {
		match, legacy = false, false
	}
	// Only a wrong password spends the attempt; a correct one, or a check
	// that could not be made, gives it back.
	done(match || err != nil)
	if known && err == nil && !match && u.Admin {
		s.log.Warn("failed admin login", "req_id", infoFrom(r.Context()).id, "user", u.Name, "ip", ip.String())
	}
	switch {
	case !known && err == nil:
		refuse(msgBadUsername)
		return
	case errors.Is(err, auth.ErrBadHash):
		// Unknown format or parameters out of range (a crafted import):
		// nothing was computed, and the answer is a wrong password's.
		s.log.Warn("bad stored password hash", "user", u.Name, "err", err.Error())
		refuse(msgBadPassword)
		return
	case err != nil:
		s.unavailable(w, r, err)
		return
	case !match:
		refuse(msgBadPassword)
		return
	}
	if legacy {
		if hash, ok := s.upgradeHash(r.Context(), u, password); ok {
			u.PasswordHash = hash
		}
	}
	// An account with a second factor gets no session yet: a code first.
	if _, has2FA, err := userTOTP(st, u); err != nil || has2FA {
		if err == nil {
			err = s.startPending(w, r, st, u)
		}
		if err != nil {
			s.unavailable(w, r, err)
			return
		}
		to := "/login/2fa"
		if next := safeNext(r.PostForm.Get("next")); next != "" {
			to += "?next=" + url.QueryEscape(next)
		}
		redirect(w, r, to)
		return
	}
	if err := s.startSession(w, r, u); err != nil {
		s.unavailable(w, r, err)
		return
	}
	infoFrom(r.Context()).user = u.Name
	if u.TemporaryPassword {
		s.flash(w, r, flashLoggedIn, msgMustChangePassword)
		redirect(w, r, "/login/password")
		return
	}
	s.flash(w, r, flashLoggedIn)
	redirectNext(w, r)
}

// redirectNext ends a sign-in at the page the form asked for (a safe,
// same-site path) or at the timeline.
func redirectNext(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostForm.Get("next"))
	if next == "" {
		next = "/"
	}
	redirect(w, r, next)
}

// upgradeHash replaces a legacy password hash (from an imported course
// database) with an argon2id one after a successful login, and returns the
// new hash. A failure only leaves the old hash, which still works; it is
// logged.
func (s *Server) upgradeHash(ctx context.Context, u store.User, password string) (string, bool) {
	hash, err := s.hasher.Hash(ctx, password)
	if err == nil {
		var res raftfsm.Result
		res, err = s.opts.Proposer.Propose(ctx, &raftfsm.Rehash{User: u.Name, Old: u.PasswordHash, New: hash})
		if err == nil {
			err = res.Err
		}
	}
	if err != nil {
		s.log.Warn("upgrading a legacy password hash failed; the old one stays", "user", u.Name, "err", err.Error())
		return "", false
	}
	s.log.Info("legacy password hash upgraded to argon2id", "user", u.Name)
	return hash, true
}

// logout ends every session of the user, on every node (the cookie may
// have been copied), not only this browser's.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if _, user, ok := s.viewer(w, r); ok && user != nil {
		if s.refuseCrossSite(w, r) {
			return
		}
		if err := s.propose(r.Context(), &raftfsm.EndSessions{User: user.Name}); err != nil {
			// The cookie is cleared all the same; only a copy of it lives on.
			s.log.Warn("ending the sessions at sign-out failed", "req_id", infoFrom(r.Context()).id,
				"user", user.Name, "err", err.Error())
		}
	} else if !ok {
		return
	}
	s.endSession(w, r)
	s.flash(w, r, flashLoggedOut)
	redirect(w, r, "/public")
}
