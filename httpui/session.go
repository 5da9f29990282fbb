package httpui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"minitwit/store"
)

const (
	sessionCookie = "minitwit_session"
	flashCookie   = "minitwit_flash"
	// strictCookie rides beside the session with SameSite=Strict: a
	// browser sends it only on requests that start on this site, so a
	// state-changing request without it (a link or form on another site,
	// even a top-level GET over plain HTTP without Sec-Fetch-Site) changes
	// nothing. Its value is bound to the session cookie so that it cannot
	// be planted for another session.
	strictCookie  = "minitwit_same_site"
	sessionMaxAge = 30 * 24 * time.Hour
	// An admin's session ends after 30 idle minutes and 12 hours at most;
	// its last-seen time is refreshed at most once a minute.
	adminIdleTimeout = 30 * time.Minute
	adminMaxLifetime = 12 * time.Hour
	adminSeenRefresh = time.Minute
)

// sessions signs cookies with the cluster's replicated session key, so a
// cookie made by one node is accepted by every node and survives restarts.
type sessions struct {
	reader Reader
	mu     sync.Mutex
	key    []byte
}

var errNoSessionKey = errors.New("the session key is not set yet (no leader has initialised the cluster)")

func (s *sessions) signingKey(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	st, err := s.reader.ReadStore(ctx)
	if err != nil {
		return nil, err
	}
	var key []byte
	if err := st.View(func(r *store.ReadTx) error { key = r.SessionKey(); return nil }); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errNoSessionKey
	}
	s.key = key
	return key, nil
}

// seal signs payload for a purpose; the purpose is part of the MAC so a
// flash cookie can never pass as a session.
func seal(key []byte, purpose string, payload []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(payload)
	b64 := base64.RawURLEncoding
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(m.Sum(nil))
}

func unseal(key []byte, purpose, value string) ([]byte, bool) {
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return nil, false
	}
	b64 := base64.RawURLEncoding
	payload, err1 := b64.DecodeString(p)
	mac, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(payload)
	return payload, hmac.Equal(mac, m.Sum(nil))
}

// secure reports whether the client reached the site over HTTPS: this node
// terminates TLS, or a trusted proxy (trusted_proxies) that does says so in
// X-Forwarded-Proto. The header of anyone else is ignored.
func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !containsAddr(s.opts.TrustedProxies, ap.Addr().Unmap()) {
		return false
	}
	// The nearest proxy appends last.
	protos := splitForwarded(r.Header.Values("X-Forwarded-Proto"))
	return len(protos) > 0 && strings.EqualFold(protos[len(protos)-1], "https")
}

// cookieName is base under plain HTTP, and "__Host-"+base over HTTPS: the
// browser then accepts the cookie only if Secure, for this host and
// path "/", so a sibling subdomain or a plain-HTTP page cannot plant it.
func (s *Server) cookieName(r *http.Request, base string) string {
	if s.secure(r) {
		return "__Host-" + base
	}
	return base
}

// readCookie returns the value of the cookie base (under its HTTPS name).
func (s *Server) readCookie(r *http.Request, base string) (string, bool) {
	c, err := r.Cookie(s.cookieName(r, base))
	if err != nil {
		return "", false
	}
	return c.Value, true
}

func (s *Server) cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: s.cookieName(r, name), Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	return c
}

// A session cookie holds the user's id, its expiry, a tag of the user's
// password hash, the user's session generation, when it was issued and
// when it was last seen (refreshed for admins only). A new password (a
// reset, a change) ends every session made with the old one; a bumped
// generation (sign-out, an admin's revoke; raftfsm.EndSessions) ends every
// session made before it. Both are replicated state, so every node agrees.
// Cookies of the earlier three-field form read as generation 0.

// passwordTag is the session's tag of a password hash.
func passwordTag(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// session is a session cookie's content.
type session struct {
	userID     uint64
	expires    int64
	tag        string
	generation uint64
	issued     int64
	seen       int64
}

func (ss session) encode() []byte {
	return []byte(strings.Join([]string{
		strconv.FormatUint(ss.userID, 10), strconv.FormatInt(ss.expires, 10), ss.tag,
		strconv.FormatUint(ss.generation, 10), strconv.FormatInt(ss.issued, 10), strconv.FormatInt(ss.seen, 10),
	}, "|"))
}

func decodeSession(payload []byte) (session, bool) {
	f := strings.Split(string(payload), "|")
	if len(f) != 3 && len(f) != 6 {
		return session{}, false
	}
	var ss session
	var errs [5]error
	ss.userID, errs[0] = strconv.ParseUint(f[0], 10, 64)
	ss.expires, errs[1] = strconv.ParseInt(f[1], 10, 64)
	ss.tag = f[2]
	if len(f) == 6 {
		ss.generation, errs[2] = strconv.ParseUint(f[3], 10, 64)
		ss.issued, errs[3] = strconv.ParseInt(f[4], 10, 64)
		ss.seen, errs[4] = strconv.ParseInt(f[5], 10, 64)
	} else {
		ss.issued = ss.expires - int64(sessionMaxAge/time.Second)
		ss.seen = ss.issued
	}
	return ss, errors.Join(errs[:]...) == nil
}

// sessionAccount returns the signed-in user and the session: a valid,
// unexpired session cookie whose user exists in st, still has the password
// and the session generation the session was made with, and, for an admin,
// is neither idle too long nor too old.
func (s *Server) sessionAccount(r *http.Request, st *store.Store) (store.User, session, bool) {
	value, ok := s.readCookie(r, sessionCookie)
	if !ok {
		return store.User{}, session{}, false
	}
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return store.User{}, session{}, false
	}
	payload, ok := unseal(key, "session", value)
	if !ok {
		return store.User{}, session{}, false
	}
	ss, ok := decodeSession(payload)
	now := time.Now()
	if !ok || now.Unix() > ss.expires {
		return store.User{}, session{}, false
	}
	var u store.User
	var gen uint64
	if st.View(func(tx *store.ReadTx) error {
		u, err = tx.UserByID(ss.userID)
		gen = tx.SessionGeneration(ss.userID)
		return err
	}) != nil {
		return store.User{}, session{}, false
	}
	if !hmac.Equal([]byte(ss.tag), []byte(passwordTag(u.PasswordHash))) || ss.generation != gen {
		return store.User{}, session{}, false
	}
	if u.Admin && (now.Sub(time.Unix(ss.issued, 0)) > adminMaxLifetime || now.Sub(time.Unix(ss.seen, 0)) > adminIdleTimeout) {
		return store.User{}, session{}, false
	}
	return u, ss, true
}

// startSession signs u in; u's PasswordHash must be the one stored now.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User) error {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		return err
	}
	// A failed read must not pass for generation 0.
	var gen uint64
	if err := st.View(func(tx *store.ReadTx) error { gen = tx.SessionGeneration(u.ID); return nil }); err != nil {
		return err
	}
	now := time.Now()
	return s.writeSession(w, r, session{userID: u.ID, expires: now.Add(sessionMaxAge).Unix(),
		tag: passwordTag(u.PasswordHash), generation: gen, issued: now.Unix(), seen: now.Unix()})
}

func (s *Server) writeSession(w http.ResponseWriter, r *http.Request, ss session) error {
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return err
	}
	maxAge := time.Until(time.Unix(ss.expires, 0))
	value := seal(key, "session", ss.encode())
	http.SetCookie(w, s.cookie(r, sessionCookie, value, maxAge))
	strict := s.cookie(r, strictCookie, strictValue(key, value), maxAge)
	strict.SameSite = http.SameSiteStrictMode
	http.SetCookie(w, strict)
	return nil
}

// strictValue is the strict cookie's value for a session cookie's value.
func strictValue(key []byte, session string) string {
	sum := sha256.Sum256([]byte(session))
	return seal(key, "same-site", sum[:16])
}

// fromSite reports whether a request of a signed-in user started on this
// site: it carries the strict cookie of its session cookie.
func (s *Server) fromSite(r *http.Request) bool {
	sess, ok1 := s.readCookie(r, sessionCookie)
	strict, ok2 := s.readCookie(r, strictCookie)
	if !ok1 || !ok2 {
		return false
	}
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(strict), []byte(strictValue(key, sess)))
}

// ensureStrict gives a valid session that lacks its strict cookie (one
// made before there was one) the cookie. That is safe whatever the request:
// a browser still withholds a Strict cookie from every cross-site request.
func (s *Server) ensureStrict(w http.ResponseWriter, r *http.Request) {
	if s.fromSite(r) {
		return
	}
	sess, ok := s.readCookie(r, sessionCookie)
	key, err := s.sessions.signingKey(r.Context())
	if !ok || err != nil {
		return
	}
	c := s.cookie(r, strictCookie, strictValue(key, sess), sessionMaxAge)
	c.SameSite = http.SameSiteStrictMode
	http.SetCookie(w, c)
}

// refuseCrossSite answers a state-changing request of a signed-in user
// that did not start on this site, and returns true; it changes nothing.
func (s *Server) refuseCrossSite(w http.ResponseWriter, r *http.Request) bool {
	if s.fromSite(r) {
		return false
	}
	s.log.Warn("state change refused: not started on this site", "req_id", infoFrom(r.Context()).id,
		"method", r.Method, "path", r.URL.Path, "ip", s.clientIP(r).String())
	s.errorPage(w, r, http.StatusForbidden, "This request did not come from MiniTwit itself, so nothing was changed. "+
		"Use the site's own links and buttons.")
	return true
}

// touchSession moves an admin session's last-seen time forward, at most
// once a minute, so that only idleness ends it.
func (s *Server) touchSession(w http.ResponseWriter, r *http.Request, u store.User, ss session) {
	if !u.Admin || time.Since(time.Unix(ss.seen, 0)) < adminSeenRefresh {
		s.ensureStrict(w, r)
		return
	}
	ss.seen = time.Now().Unix()
	// Without the signing key the cookie stays as it was: the session goes
	// on, and the next request tries the refresh again.
	_ = s.writeSession(w, r, ss)
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
	http.SetCookie(w, s.cookie(r, strictCookie, "", -1))
}

// flash queues a message for the next page, like Flask's flash().
func (s *Server) flash(w http.ResponseWriter, r *http.Request, msgs ...string) {
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return
	}
	payload, _ := json.Marshal(msgs)
	http.SetCookie(w, s.cookie(r, flashCookie, seal(key, "flash", payload), 5*time.Minute))
}

// takeFlashes returns the queued messages and clears them.
func (s *Server) takeFlashes(w http.ResponseWriter, r *http.Request) []string {
	value, ok := s.readCookie(r, flashCookie)
	if !ok {
		return nil
	}
	http.SetCookie(w, s.cookie(r, flashCookie, "", -1))
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return nil
	}
	payload, ok := unseal(key, "flash", value)
	if !ok {
		return nil
	}
	var msgs []string
	if json.Unmarshal(payload, &msgs) != nil {
		return nil
	}
	return msgs
}
