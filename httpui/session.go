package httpui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"minitwit/store"
)

const (
	sessionCookie = "minitwit_session"
	flashCookie   = "minitwit_flash"
	sessionMaxAge = 30 * 24 * time.Hour
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

func cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	return c
}

// A session cookie holds the user's id, its expiry and a tag of the
// user's password hash: a new password (a reset, a change) ends every
// session made with the old one, so resetting a stolen account locks the
// thief out.

// passwordTag is the session's tag of a password hash.
func passwordTag(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// sessionAccount returns the signed-in user: a valid, unexpired session
// cookie whose user exists in st and still has the password the session
// was made with.
func (s *Server) sessionAccount(r *http.Request, st *store.Store) (store.User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return store.User{}, false
	}
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return store.User{}, false
	}
	payload, ok := unseal(key, "session", c.Value)
	if !ok {
		return store.User{}, false
	}
	fields := strings.Split(string(payload), "|")
	if len(fields) != 3 {
		return store.User{}, false
	}
	id, err1 := strconv.ParseUint(fields[0], 10, 64)
	exp, err2 := strconv.ParseInt(fields[1], 10, 64)
	if err1 != nil || err2 != nil || time.Now().Unix() > exp {
		return store.User{}, false
	}
	var u store.User
	if st.View(func(tx *store.ReadTx) error { u, err = tx.UserByID(id); return err }) != nil {
		return store.User{}, false
	}
	if !hmac.Equal([]byte(fields[2]), []byte(passwordTag(u.PasswordHash))) {
		return store.User{}, false
	}
	return u, true
}

// startSession signs u in; u's PasswordHash must be the one stored now.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User) error {
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return err
	}
	payload := strconv.FormatUint(u.ID, 10) + "|" + strconv.FormatInt(time.Now().Add(sessionMaxAge).Unix(), 10) +
		"|" + passwordTag(u.PasswordHash)
	http.SetCookie(w, cookie(r, sessionCookie, seal(key, "session", []byte(payload)), sessionMaxAge))
	return nil
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, cookie(r, sessionCookie, "", -1))
}

// flash queues a message for the next page, like Flask's flash().
func (s *Server) flash(w http.ResponseWriter, r *http.Request, msgs ...string) {
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return
	}
	payload, _ := json.Marshal(msgs)
	http.SetCookie(w, cookie(r, flashCookie, seal(key, "flash", payload), 5*time.Minute))
}

// takeFlashes returns the queued messages and clears them.
func (s *Server) takeFlashes(w http.ResponseWriter, r *http.Request) []string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, cookie(r, flashCookie, "", -1))
	key, err := s.sessions.signingKey(r.Context())
	if err != nil {
		return nil
	}
	payload, ok := unseal(key, "flash", c.Value)
	if !ok {
		return nil
	}
	var msgs []string
	if json.Unmarshal(payload, &msgs) != nil {
		return nil
	}
	return msgs
}
