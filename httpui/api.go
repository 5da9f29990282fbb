package httpui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"minitwit/raftfsm"
	"minitwit/store"
)

// The simulator contract's fixed texts.
const (
	msgNotAuthorized    = "You are not authorized to use this resource!"
	msgNoUsername       = "You have to enter a username"
	msgBadEmail         = "You have to enter a valid email address"
	msgNoPassword       = "You have to enter a password"
	msgNameTaken        = "The username is already taken"
	msgPasswordMismatch = "The two passwords do not match"
	msgNameInvalid      = "That username is not allowed"
	msgFollowSelf       = "You cannot follow yourself"
	msgUnavailable      = "The service is temporarily unavailable; please retry"
)

// defaultNo is the list size when `no` is absent or not an integer.
const defaultNo = 100

// credentials are the simulator's, kept as digests so the comparison takes
// the same time whatever the input's length.
type credentials struct{ user, pass [32]byte }

func newCredentials(user, pass string) credentials {
	return credentials{sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))}
}

func (c credentials) match(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	// Both comparisons always run.
	okUser := subtle.ConstantTimeCompare(u[:], c.user[:])
	okPass := subtle.ConstantTimeCompare(p[:], c.pass[:])
	return ok && okUser&okPass == 1
}

// apiGuard refuses clients outside the allow-list before anything else
// happens; a refused request records nothing.
func (s *Server) apiGuard(next http.Handler) http.Handler {
	if s.opts.AcceptedIPs == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := s.clientIP(r)
		if !containsAddr(s.opts.AcceptedIPs, ip) {
			s.opts.Metrics.APIRefused("ip")
			s.log.Warn("api client refused by simulator.accepted_ips", "req_id", infoFrom(r.Context()).id, "ip", ip.String())
			writeJSON(w, http.StatusForbidden, apiError{http.StatusForbidden, "Your address is not allowed to use this API"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Status   int    `json:"status"`
	ErrorMsg string `json:"error_msg"`
}

type apiMessage struct {
	Content string `json:"content"`
	PubDate int64  `json:"pub_date"`
	User    string `json:"user"`
}

// apiCall carries one API request and makes sure its `latest` is recorded
// exactly once before the answer goes out: with the write it came with, or
// on its own for requests that write nothing.
//
// Only a request with the simulator's credentials records `latest`: the
// course's reference records it before checking them, which lets anyone
// move the graders' number.
type apiCall struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	authed   bool // carries the simulator's credentials
	latest   raftfsm.Latest
	recorded bool
}

func (s *Server) api(h func(*apiCall)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &apiCall{s: s, w: w, r: r, authed: s.simAuth.match(r)}
		if c.authed {
			c.latest = parseLatest(r.URL.Query().Get("latest"))
		}
		h(c)
	})
}

// Registrations through the API without the simulator's credentials
// (which the contract allows) from outside simulator.accepted_ips: per
// source, 20 at once, then one every 30 s. The simulator always sends its
// credentials and is never limited.
const (
	openRegisterBurst = 20
	openRegisterEvery = 30 * time.Second
	openRegisterKeys  = 10_000
)

// parseLatest accepts only an integer; anything else is ignored.
func parseLatest(v string) raftfsm.Latest {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return raftfsm.Latest{}
	}
	return raftfsm.LatestOf(n)
}

// parseNo reads the list size: default for absent or non-integer values,
// zero for zero or negative ones, capped at max (also when the number does
// not even fit an int).
func parseNo(v string, max int) int {
	if v == "" {
		return min(defaultNo, max)
	}
	n, err := strconv.Atoi(v)
	var numErr *strconv.NumError
	switch {
	case errors.As(err, &numErr) && numErr.Err == strconv.ErrRange:
		if strings.HasPrefix(v, "-") {
			return 0
		}
		return max
	case err != nil:
		return min(defaultNo, max)
	case n <= 0:
		return 0
	case n > max:
		return max
	}
	return n
}

// ensureLatest records `latest` if the request carried one and no write
// recorded it yet.
func (c *apiCall) ensureLatest() error {
	if !c.latest.Set || c.recorded {
		return nil
	}
	c.recorded = true
	_, err := c.s.opts.Proposer.Propose(c.r.Context(), &raftfsm.SetLatest{Latest: c.latest})
	return err
}

// propose sends a write that carries this request's latest.
func (c *apiCall) propose(cmd raftfsm.Command) (raftfsm.Result, error) {
	c.recorded = true
	res, err := c.s.opts.Proposer.Propose(c.r.Context(), cmd)
	if err == nil {
		err = res.Err
	}
	return res, err
}

func (c *apiCall) reply(status int, body any) {
	if err := c.ensureLatest(); err != nil {
		if clientGone(c.r) {
			c.s.log.Info("client gone", "req_id", infoFrom(c.r.Context()).id, "err", err.Error())
		} else {
			c.s.log.Warn("recording latest failed", "req_id", infoFrom(c.r.Context()).id, "err", err.Error())
		}
		writeJSON(c.w, http.StatusServiceUnavailable, apiError{http.StatusServiceUnavailable, msgUnavailable})
		return
	}
	if status == http.StatusNoContent {
		c.w.WriteHeader(status)
		return
	}
	writeJSON(c.w, status, body)
}

func (c *apiCall) fail(status int, msg string) { c.reply(status, apiError{status, msg}) }

// failErr maps an error to its status: typed refusals are the client's
// doing, anything else is a retryable 503.
func (c *apiCall) failErr(err error) {
	switch {
	case errors.Is(err, store.ErrUnknownUser):
		c.fail(http.StatusNotFound, "Unknown user")
	case errors.Is(err, store.ErrNameTaken):
		c.fail(http.StatusBadRequest, msgNameTaken)
	case errors.Is(err, store.ErrFollowSelf):
		c.fail(http.StatusBadRequest, msgFollowSelf)
	case errors.Is(err, store.ErrInvalid):
		c.fail(http.StatusBadRequest, err.Error())
	case clientGone(c.r):
		// A read the client gave up on; writes are detached and get here
		// only on a real failure.
		c.s.log.Info("client gone", "req_id", infoFrom(c.r.Context()).id, "err", err.Error())
		c.fail(http.StatusServiceUnavailable, msgUnavailable)
	default:
		c.s.log.Warn("api request failed", "req_id", infoFrom(c.r.Context()).id, "err", err.Error())
		c.fail(http.StatusServiceUnavailable, msgUnavailable)
	}
}

// authorized checks the simulator's credentials and answers 403 if wrong.
func (c *apiCall) authorized() bool {
	if c.authed {
		return true
	}
	c.s.opts.Metrics.APIRefused("auth")
	c.s.log.Warn("simulator authentication refused", "req_id", infoFrom(c.r.Context()).id, "ip", c.s.clientIP(c.r).String())
	c.fail(http.StatusForbidden, msgNotAuthorized)
	return false
}

// decodeBody reads a JSON object into v: 413 past the size cap, 400 for
// invalid UTF-8, syntax errors, wrong types or trailing data.
func (c *apiCall) decodeBody(v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, c.s.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		c.fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes", tooBig.Limit))
		return false
	case err != nil:
		c.fail(http.StatusBadRequest, "The request body could not be read")
		return false
	case !utf8.Valid(body):
		c.fail(http.StatusBadRequest, "The request body is not valid UTF-8")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		c.fail(http.StatusBadRequest, "The request body is not valid JSON: "+jsonProblem(err))
		return false
	}
	if rest := body[dec.InputOffset():]; len(bytes.TrimSpace(rest)) != 0 {
		c.fail(http.StatusBadRequest, "The request body has data after the JSON object")
		return false
	}
	return true
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be a %s", typeErr.Field, typeErr.Type)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("syntax error at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated body"
	}
	return "cannot decode"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // texts go back exactly as they came
	if err := enc.Encode(v); err != nil {
		http.Error(w, "cannot encode response", http.StatusInternalServerError)
		return
	}
	writeBody(w, status, "application/json", buf.Bytes())
}

// writeBody sends a complete, already rendered body with its length.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) apiLatest(c *apiCall) {
	if err := c.ensureLatest(); err != nil {
		c.failErr(err)
		return
	}
	st, err := s.opts.Reader.ReadStore(c.r.Context())
	if err != nil {
		c.failErr(err)
		return
	}
	latest := int64(-1)
	err = st.View(func(r *store.ReadTx) error {
		if v, ok := r.Latest(); ok {
			latest = v
		}
		return nil
	})
	if err != nil {
		c.failErr(err)
		return
	}
	c.reply(http.StatusOK, map[string]int64{"latest": latest})
}

// registration is the register payload of both the API and the UI form.
type registration struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"pwd"`
	// Repeat is the UI form's second password; the API has none.
	Repeat     string `json:"-"`
	needRepeat bool
}

// MaxPasswordBytes bounds what is fed to argon2id.
const MaxPasswordBytes = 1024

// check validates in the contract's order and returns the message to show,
// or "" when the registration may proceed to the uniqueness check.
func (reg registration) check() string {
	switch {
	case reg.Username == "":
		return msgNoUsername
	case reg.Email == "" || !strings.Contains(reg.Email, "@") || len(reg.Email) > store.MaxEmailBytes ||
		!utf8.ValidString(reg.Email) || store.ValidateEmail(reg.Email) != nil:
		return msgBadEmail
	case reg.Password == "":
		return msgNoPassword
	case reg.needRepeat && reg.Password != reg.Repeat:
		return msgPasswordMismatch
	case len(reg.Password) > MaxPasswordBytes:
		return fmt.Sprintf("The password is longer than %d bytes", MaxPasswordBytes)
	case store.ValidateNewUsername(reg.Username) != nil:
		return msgNameInvalid
	}
	return ""
}

// register checks, hashes and proposes; it returns a user-facing message
// for refusals and an error for failures.
func (s *Server) register(ctx context.Context, reg registration, latest raftfsm.Latest,
	propose func(raftfsm.Command) error) (refusal string, err error) {
	if msg := reg.check(); msg != "" {
		return msg, nil
	}
	// Cheap check first, so a taken name never costs a hash; the state
	// machine checks again, authoritatively. Names are never freed, so a
	// name taken in this node's own copy is taken: no need to ask the
	// leader for a read index.
	st := s.opts.Reader.LocalStore()
	if st == nil {
		var err error
		if st, err = s.opts.Reader.ReadStore(ctx); err != nil {
			return "", err
		}
	}
	// Names are unique regardless of case: "Alice" beside "alice" would be
	// a look-alike. Names stored before this rule stay as they are.
	var taken bool
	if err := st.View(func(r *store.ReadTx) error { _, taken = r.NameTakenFold(reg.Username); return nil }); err != nil {
		return "", err
	}
	if taken {
		return msgNameTaken, nil
	}
	hash, err := s.hasher.Hash(ctx, reg.Password)
	if err != nil {
		return "", err
	}
	err = propose(&raftfsm.Register{Username: reg.Username, Email: reg.Email, PasswordHash: hash, Latest: latest})
	if errors.Is(err, store.ErrNameTaken) {
		return msgNameTaken, nil
	}
	return "", err
}

func (s *Server) apiRegister(c *apiCall) {
	if !c.authed {
		ip := s.clientIP(c.r)
		if !containsAddr(s.opts.AcceptedIPs, ip) {
			if wait, ok := s.openRegisters.allow(ip); !ok {
				s.opts.Metrics.APIRefused("rate")
				s.log.Warn("api registration without credentials rate limited", "req_id", infoFrom(c.r.Context()).id, "ip", ip.String())
				c.w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				c.fail(http.StatusTooManyRequests, "Too many registrations from your address; please retry later")
				return
			}
		}
	}
	var reg registration
	if !c.decodeBody(&reg) {
		return
	}
	refusal, err := s.register(c.r.Context(), reg, c.latest, func(cmd raftfsm.Command) error {
		_, err := c.propose(cmd)
		return err
	})
	switch {
	case err != nil:
		c.failErr(err)
	case refusal != "":
		c.fail(http.StatusBadRequest, refusal)
	default:
		c.reply(http.StatusNoContent, nil)
	}
}

// readMessages runs a timeline query on the local store and shapes it.
func (s *Server) readMessages(c *apiCall, query func(*store.ReadTx) (store.TimelinePage, error)) {
	st, err := s.opts.Reader.ReadStore(c.r.Context())
	if err != nil {
		c.failErr(err)
		return
	}
	var out []apiMessage
	err = st.View(func(r *store.ReadTx) error {
		page, err := query(r)
		if err != nil {
			return err
		}
		out = make([]apiMessage, len(page.Messages))
		for i, m := range page.Messages {
			out[i] = apiMessage{Content: m.Text, PubDate: m.PubDate, User: m.Author}
		}
		return nil
	})
	if err != nil {
		c.failErr(err)
		return
	}
	c.reply(http.StatusOK, out)
}

func (s *Server) apiPublicMessages(c *apiCall) {
	if !c.authorized() {
		return
	}
	no := parseNo(c.r.URL.Query().Get("no"), s.opts.MaxNo)
	s.readMessages(c, func(r *store.ReadTx) (store.TimelinePage, error) {
		return r.PublicTimeline(store.Page{Limit: no})
	})
}

func (s *Server) apiUserMessages(c *apiCall) {
	if !c.authorized() {
		return
	}
	name := c.r.PathValue("username")
	no := parseNo(c.r.URL.Query().Get("no"), s.opts.MaxNo)
	s.readMessages(c, func(r *store.ReadTx) (store.TimelinePage, error) {
		u, err := r.UserByName(name)
		if err != nil {
			return store.TimelinePage{}, err
		}
		return r.UserTimeline(u.ID, store.Page{Limit: no})
	})
}

// knownUser answers 404 unless the path's user exists, so that an unknown
// user is reported before a bad body, as the course's reference does. The
// state machine checks again when the command is applied. Users are never
// deleted, so a user this node already has is known for sure; only a miss
// is confirmed with a consistent read (the user may have registered through
// another node a moment ago), which keeps the write path free of a
// read-index round on followers.
func (c *apiCall) knownUser() bool {
	name := c.r.PathValue("username")
	lookup := func(st *store.Store) error {
		return st.View(func(r *store.ReadTx) error { _, err := r.UserByName(name); return err })
	}
	if c.s.opts.Reader.LocalStore() != nil && lookup(c.s.opts.Reader.LocalStore()) == nil {
		return true
	}
	st, err := c.s.opts.Reader.ReadStore(c.r.Context())
	if err == nil {
		err = lookup(st)
	}
	if err != nil {
		c.failErr(err)
		return false
	}
	return true
}

func (s *Server) apiPostMessage(c *apiCall) {
	if !c.authorized() || !c.knownUser() {
		return
	}
	var body struct {
		Content *string `json:"content"`
	}
	if !c.decodeBody(&body) {
		return
	}
	switch {
	case body.Content == nil:
		c.fail(http.StatusBadRequest, `The request body needs a "content" field`)
		return
	case *body.Content == "":
		c.fail(http.StatusBadRequest, "The message is empty")
		return
	case len(*body.Content) > store.MaxMessageBytes:
		c.fail(http.StatusBadRequest, fmt.Sprintf("The message is longer than %d bytes", store.MaxMessageBytes))
		return
	}
	_, err := c.propose(&raftfsm.PostMessage{
		Author: c.r.PathValue("username"), Text: *body.Content, PubDate: time.Now().Unix(), Latest: c.latest,
	})
	if err != nil {
		c.failErr(err)
		return
	}
	c.reply(http.StatusNoContent, nil)
}

func (s *Server) apiFollows(c *apiCall) {
	if !c.authorized() {
		return
	}
	name := c.r.PathValue("username")
	no := parseNo(c.r.URL.Query().Get("no"), s.opts.MaxNo)
	st, err := s.opts.Reader.ReadStore(c.r.Context())
	if err != nil {
		c.failErr(err)
		return
	}
	names := []string{}
	err = st.View(func(r *store.ReadTx) error {
		u, err := r.UserByName(name)
		if err != nil {
			return err
		}
		follows, err := r.Follows(u.ID, no)
		for _, f := range follows {
			names = append(names, f.Name)
		}
		return err
	})
	if err != nil {
		c.failErr(err)
		return
	}
	c.reply(http.StatusOK, map[string][]string{"follows": names})
}

func (s *Server) apiFollowChange(c *apiCall) {
	if !c.authorized() || !c.knownUser() {
		return
	}
	var body struct {
		Follow   *string `json:"follow"`
		Unfollow *string `json:"unfollow"`
	}
	if !c.decodeBody(&body) {
		return
	}
	who := c.r.PathValue("username")
	var cmd raftfsm.Command
	switch {
	case body.Follow != nil && body.Unfollow != nil:
		c.fail(http.StatusBadRequest, `Give either "follow" or "unfollow", not both`)
		return
	case body.Follow != nil && *body.Follow != "":
		cmd = &raftfsm.Follow{Who: who, Whom: *body.Follow, Latest: c.latest}
	case body.Unfollow != nil && *body.Unfollow != "":
		cmd = &raftfsm.Unfollow{Who: who, Whom: *body.Unfollow, Latest: c.latest}
	default:
		c.fail(http.StatusBadRequest, `The request body needs a non-empty "follow" or "unfollow" field`)
		return
	}
	if _, err := c.propose(cmd); err != nil {
		c.failErr(err)
		return
	}
	c.reply(http.StatusNoContent, nil)
}
