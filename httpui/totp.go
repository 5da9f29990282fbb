package httpui

import (
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"

	"minitwit/httpui/auth"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Two-factor sign-in (TOTP, RFC 6238) for admins:
//
//	GET  /admin/2fa    the account's second factor: enroll (QR code, otpauth URI, secret) or its status
//	POST /admin/2fa    confirm an enrollment with a code; answers with the recovery codes, shown once
//	GET  /login/2fa    after a correct password, the form asking for a code or a recovery code
//	POST /login/2fa    check it, then sign in
//
// The secret is made when the enrollment page is shown and travels in the
// form: it is shown on that page anyway, and an admin who posts another
// secret only sets up their own account (the form is behind the admin
// session and the site's cross-origin checks). Nothing is stored until a
// code from the app confirms it (raftfsm.TOTPEnroll). The QR code is an
// inline SVG drawn here, so no image leaves the node and the CSP needs no
// new image source.
//
// A correct password of an account with a second factor gives no session,
// only a short-lived signed "pending" cookie naming the account (bound to
// its password and session generation like a session); the session comes
// once a code is accepted. Each accepted code's time step, and each spent
// recovery code, is recorded through Raft (raftfsm.TOTPUse), so a code
// works once on the whole cluster. Wrong codes are limited like admin
// passwords (secondFactorBudget). Codes and secrets are never logged.

const (
	pendingCookie = "minitwit_2fa"
	// pendingMaxAge is how long after the password the code may come.
	pendingMaxAge = 5 * time.Minute

	msgBadCode         = "Invalid code"
	msgCodeUsed        = "That code was used already; wait for the next one"
	msgSignInAgain     = "Sign in again: the sign-in expired or changed"
	msgEnroll2FA       = "Set up two-factor sign-in before using the admin pages"
	msg2FAOn           = "Two-factor sign-in is on"
	totpIssuer         = "MiniTwit"
	enrollDamagedError = "The enrollment form was damaged; start again."
)

// secondFactorBudget limits wrong codes: per address 5, then one a minute;
// per account 10, then one every 30 s. With three codes valid at a time out
// of a million, a guesser holding the password needs months.
var secondFactorBudget = auth.LoginBudget{IPBurst: 5, AccountBurst: 10, IPEvery: time.Minute, AccountEvery: 30 * time.Second}

// totpView is what the admin's two-factor page shows.
type totpView struct {
	Enrolled      bool
	RecoveryLeft  int
	Required      bool
	URI, Secret   string
	SecretGroups  string
	QR            template.HTML
	RecoveryCodes []string // right after enrolling only
}

// userTOTP reads u's second factor.
func userTOTP(st *store.Store, u store.User) (store.TOTP, bool, error) {
	var t store.TOTP
	var ok bool
	err := st.View(func(tx *store.ReadTx) error {
		var err error
		t, ok, err = tx.TOTP(u.ID)
		return err
	})
	return t, ok, err
}

// needsEnrollment reports whether admin.require_2fa sends u to enroll.
func (s *Server) needsEnrollment(st *store.Store, u store.User) bool {
	if !s.opts.RequireAdmin2FA || !u.Admin {
		return false
	}
	_, ok, err := userTOTP(st, u)
	return err == nil && !ok
}

// accountLabel names the account in the authenticator app: the user at
// this site's host, so two clusters' entries can be told apart.
func accountLabel(r *http.Request, name string) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		return name
	}
	return name + "@" + host
}

func (s *Server) admin2FA(w http.ResponseWriter, r *http.Request, d *adminData) {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	t, enrolled, err := userTOTP(st, *d.User)
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	v := &totpView{Enrolled: enrolled, RecoveryLeft: len(t.RecoveryHashes), Required: s.opts.RequireAdmin2FA}
	d.TOTP = v
	if enrolled && r.URL.Query().Get("renew") != "1" {
		s.renderAdmin(w, r, "2fa", d)
		return
	}
	key, err := auth.NewTOTPKey(totpIssuer, accountLabel(r, d.User.Name))
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if err := s.fillEnrollment(v, key.URL(), key.Secret()); err != nil {
		s.unavailable(w, r, err)
		return
	}
	s.renderAdmin(w, r, "2fa", d)
}

// fillEnrollment puts an enrollment's URI, secret and QR code on the page.
func (s *Server) fillEnrollment(v *totpView, uri, secret string) error {
	qrSVG, err := qrCodeSVG(uri)
	if err != nil {
		return err
	}
	v.Enrolled, v.URI, v.Secret, v.QR = false, uri, secret, qrSVG
	var groups []string
	for i := 0; i < len(secret); i += 4 {
		groups = append(groups, secret[i:min(i+4, len(secret))])
	}
	v.SecretGroups = strings.Join(groups, " ")
	return nil
}

func (s *Server) admin2FAConfirm(w http.ResponseWriter, r *http.Request, d *adminData) {
	if !s.parseForm(w, r) {
		return
	}
	secret := r.PostForm.Get("secret")
	if !auth.ValidTOTPSecret(secret) {
		s.errorPage(w, r, http.StatusBadRequest, enrollDamagedError)
		return
	}
	ip := s.clientIP(r)
	done, wait, ok := s.secondFactors.Begin(ip, d.User.Name)
	if !ok {
		s.tooManyCodes(w, r, wait, d.User.Name)
		return
	}
	step, err := auth.VerifyTOTP(secret, r.PostForm.Get("code"), time.Now(), 0)
	done(err == nil)
	if err != nil {
		s.log.Warn("second factor enrollment: wrong code", "req_id", infoFrom(r.Context()).id, "user", d.User.Name, "ip", ip.String())
		key, err := auth.TOTPKey(totpIssuer, accountLabel(r, d.User.Name), secret)
		if err != nil {
			s.errorPage(w, r, http.StatusBadRequest, enrollDamagedError)
			return
		}
		d.TOTP = &totpView{Required: s.opts.RequireAdmin2FA}
		if err := s.fillEnrollment(d.TOTP, key.URL(), key.Secret()); err != nil {
			s.unavailable(w, r, err)
			return
		}
		d.Error = msgBadCode + ": type the six digits the app shows now."
		s.renderAdminStatus(w, r, http.StatusBadRequest, "2fa", d)
		return
	}
	codes, hashes := auth.NewRecoveryCodes()
	if err := s.propose(r.Context(), &raftfsm.TOTPEnroll{User: d.User.Name, Secret: secret, Step: step, RecoveryHashes: hashes}); err != nil {
		s.unavailable(w, r, err)
		return
	}
	s.log.Info("second factor enrolled", "req_id", infoFrom(r.Context()).id, "user", d.User.Name, "ip", ip.String())
	d.TOTP = &totpView{Enrolled: true, RecoveryLeft: len(codes), RecoveryCodes: codes, Required: s.opts.RequireAdmin2FA}
	d.Flashes = []string{msg2FAOn}
	s.renderAdmin(w, r, "2fa", d)
}

// tooManyCodes answers a second-factor attempt over its budget.
func (s *Server) tooManyCodes(w http.ResponseWriter, r *http.Request, wait time.Duration, name string) {
	s.log.Warn("second factor rate limited", "req_id", infoFrom(r.Context()).id, "user", name, "ip", s.clientIP(r).String())
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	s.errorPage(w, r, http.StatusTooManyRequests, "Too many wrong codes. Try again in "+roundAge(wait+time.Second)+".")
}

// pending is a pending-second-factor cookie's content: who gave a correct
// password, with what, and until when the code may come.
type pending struct {
	userID     uint64
	tag        string
	generation uint64
	expires    int64
}

// startPending gives the browser the pending cookie of u, whose password
// was just checked.
func (s *Server) startPending(w http.ResponseWriter, r *http.Request, st *store.Store, u store.User) error {
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return err
	}
	var gen uint64
	if err := st.View(func(tx *store.ReadTx) error { gen = tx.SessionGeneration(u.ID); return nil }); err != nil {
		return err
	}
	p := strings.Join([]string{strconv.FormatUint(u.ID, 10), passwordTag(u.PasswordHash),
		strconv.FormatUint(gen, 10), strconv.FormatInt(time.Now().Add(pendingMaxAge).Unix(), 10)}, "|")
	http.SetCookie(w, s.cookie(r, pendingCookie, seal(key, "2fa-pending", []byte(p)), pendingMaxAge))
	return nil
}

// pendingAccount returns the account of a valid pending cookie: signed,
// unexpired, and its user still has the password and session generation
// it was made with.
func (s *Server) pendingAccount(r *http.Request, st *store.Store) (store.User, bool) {
	value, ok := s.readCookie(r, pendingCookie)
	if !ok {
		return store.User{}, false
	}
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return store.User{}, false
	}
	payload, ok := unseal(key, "2fa-pending", value)
	if !ok {
		return store.User{}, false
	}
	f := strings.Split(string(payload), "|")
	if len(f) != 4 {
		return store.User{}, false
	}
	var p pending
	var errs [3]error
	p.userID, errs[0] = strconv.ParseUint(f[0], 10, 64)
	p.tag = f[1]
	p.generation, errs[1] = strconv.ParseUint(f[2], 10, 64)
	p.expires, errs[2] = strconv.ParseInt(f[3], 10, 64)
	if errors.Join(errs[:]...) != nil || time.Now().Unix() > p.expires {
		return store.User{}, false
	}
	var u store.User
	var gen uint64
	if st.View(func(tx *store.ReadTx) error {
		u, err = tx.UserByID(p.userID)
		gen = tx.SessionGeneration(p.userID)
		return err
	}) != nil {
		return store.User{}, false
	}
	if p.tag != passwordTag(u.PasswordHash) || p.generation != gen {
		return store.User{}, false
	}
	return u, true
}

func (s *Server) secondFactorForm(w http.ResponseWriter, r *http.Request) {
	st, ok := s.anonymousOnly(w, r, false)
	if !ok {
		return
	}
	if _, ok := s.pendingAccount(r, st); !ok {
		s.flash(w, r, msgSignInAgain)
		redirect(w, r, "/login")
		return
	}
	s.render(w, r, http.StatusOK, "login_2fa", &pageData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) secondFactorSubmit(w http.ResponseWriter, r *http.Request) {
	st, ok := s.anonymousOnly(w, r, true)
	if !ok {
		return
	}
	u, ok := s.pendingAccount(r, st)
	if !ok {
		s.flash(w, r, msgSignInAgain)
		redirect(w, r, "/login")
		return
	}
	t, enrolled, err := userTOTP(st, u)
	switch {
	case err != nil:
		s.unavailable(w, r, err)
		return
	case !enrolled: // reset meanwhile: the password alone is the way in now
		s.flash(w, r, msgSignInAgain)
		http.SetCookie(w, s.cookie(r, pendingCookie, "", -1))
		redirect(w, r, "/login")
		return
	}
	ip := s.clientIP(r)
	done, wait, ok := s.secondFactors.Begin(ip, u.Name)
	if !ok {
		s.tooManyCodes(w, r, wait, u.Name)
		return
	}
	refuse := func(msg string) {
		done(false)
		s.log.Warn("failed second factor", "req_id", infoFrom(r.Context()).id, "user", u.Name, "reason", msg, "ip", ip.String())
		s.render(w, r, http.StatusBadRequest, "login_2fa", &pageData{Error: msg, Next: safeNext(r.PostForm.Get("next"))})
	}
	input := r.PostForm.Get("code")
	cmd := &raftfsm.TOTPUse{User: u.Name}
	recovery := auth.IsRecoveryCode(input)
	if recovery {
		cmd.RecoveryHash = auth.HashRecoveryCode(input)
	} else {
		step, err := auth.VerifyTOTP(t.Secret, input, time.Now(), t.LastStep)
		switch {
		case errors.Is(err, auth.ErrCodeReused):
			refuse(msgCodeUsed)
			return
		case err != nil:
			refuse(msgBadCode)
			return
		}
		cmd.Step = step
	}
	res, err := s.opts.Proposer.Propose(r.Context(), cmd)
	if err == nil {
		err = res.Err
	}
	switch {
	case errors.Is(err, store.ErrCodeUsed) && recovery:
		refuse(msgBadCode)
		return
	case errors.Is(err, store.ErrCodeUsed):
		refuse(msgCodeUsed)
		return
	case errors.Is(err, store.ErrNoTOTP):
		done(true)
		s.flash(w, r, msgSignInAgain)
		http.SetCookie(w, s.cookie(r, pendingCookie, "", -1))
		redirect(w, r, "/login")
		return
	case err != nil:
		done(true) // not the client's failure: the attempt is given back
		s.unavailable(w, r, err)
		return
	}
	done(true)
	http.SetCookie(w, s.cookie(r, pendingCookie, "", -1))
	if err := s.startSession(w, r, u); err != nil {
		s.unavailable(w, r, err)
		return
	}
	infoFrom(r.Context()).user = u.Name
	flashes := []string{flashLoggedIn}
	if recovery {
		s.log.Warn("signed in with a recovery code", "req_id", infoFrom(r.Context()).id, "user", u.Name,
			"recovery_codes_left", res.ID, "ip", ip.String())
		flashes = append(flashes, fmt.Sprintf("You used a recovery code; %d left. Set up the authenticator again at /admin/2fa if you lost it.", res.ID))
	}
	if u.TemporaryPassword {
		s.flash(w, r, append(flashes, msgMustChangePassword)...)
		redirect(w, r, "/login/password")
		return
	}
	s.flash(w, r, flashes...)
	redirectNext(w, r)
}

// qrCodeSVG draws content as a QR code in SVG, one path of dark modules
// on a white square with the standard four-module quiet zone, to inline
// in the page.
func qrCodeSVG(content string) (template.HTML, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	b := code.Bounds()
	n := b.Dx()
	var path strings.Builder
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, _, _, _ := code.At(x, y).RGBA(); r < 0x8000 {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x-b.Min.X, y-b.Min.Y)
			}
		}
	}
	const quiet = 4
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" class="qr" role="img" aria-label="QR code of the otpauth URI" `+
		`width="%d" height="%d" viewBox="%d %d %d %d" shape-rendering="crispEdges">`+
		`<rect x="%d" y="%d" width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		(n+2*quiet)*6, (n+2*quiet)*6, -quiet, -quiet, n+2*quiet, n+2*quiet,
		-quiet, -quiet, n+2*quiet, n+2*quiet, path.String())
	// Built from numbers only: nothing of the content reaches the markup
	// but the module pattern.
	return template.HTML(svg), nil
}
