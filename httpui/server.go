package httpui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"minitwit/httpui/auth"
	"minitwit/node/nodeinfo"
	"minitwit/ops"
	"minitwit/ops/httpstatus"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Proposer sends a command through Raft and returns its result once it is
// applied (or an error: the write may or may not have happened).
type Proposer interface {
	Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error)
}

// Reader returns the local store once it reflects every write acknowledged
// before the call, so a client reads its own writes on any node.
// LocalStore returns it at once, possibly behind the leader: only for facts
// that, once true, stay true (a user exists).
type Reader interface {
	ReadStore(ctx context.Context) (*store.Store, error)
	LocalStore() *store.Store
}

// StatusReporter describes the node for /readyz.
type StatusReporter interface {
	Status() nodeinfo.Status
}

// Options configure the handler. Proposer, Reader, Status, Logger and
// Metrics are required.
type Options struct {
	Proposer Proposer
	Reader   Reader
	Status   StatusReporter
	Logger   *slog.Logger
	Metrics  *ops.Metrics
	Build    ops.BuildInfo

	SimulatorUsername, SimulatorPassword string
	// AcceptedIPs may use /api; nil means everyone.
	AcceptedIPs []netip.Prefix
	// TrustedProxies are peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	MaxNo          int   // cap on the API's `no`
	MaxBodyBytes   int64 // cap on request bodies (API and forms)
	MetricsToken   string
	// AdminToken is the bearer token of the remote admin endpoints
	// (/admin/api/backup, /admin/api/import); empty closes them.
	AdminToken string
	// Operations serves those endpoints; nil closes them.
	Operations Operations
	// Admin serves the admin page's cluster views; nil hides the page.
	Admin AdminBackend
	// Gravatar links avatars to gravatar.com instead of the node's own
	// identicons (ui.gravatar).
	Gravatar bool
	// RequireAdmin2FA sends an admin without a second factor to enroll
	// one before any other admin page (admin.require_2fa).
	RequireAdmin2FA bool
	// RequestTimeout bounds how long a request may wait for Raft or for a
	// password-hashing slot. Zero means 10 s.
	RequestTimeout time.Duration
}

// Server is the HTTP handler of one node.
type Server struct {
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	hasher   *auth.Hasher
	sessions *sessions
	pages    *pages
	simAuth  credentials
	// closing ends long-lived streams (the admin page's log tails) when
	// the server shuts down: http.Server.Shutdown waits for handlers.
	closing   chan struct{}
	closeOnce sync.Once
	// adminLogins limits failed sign-ins to admin accounts.
	adminLogins *auth.LoginLimiter
	// userLogins limits failed sign-ins to every other account.
	userLogins *auth.LoginLimiter
	// secondFactors limits wrong second-factor codes (totp.go).
	secondFactors *auth.LoginLimiter
	// openRegisters limits API registrations without credentials.
	openRegisters *sourceLimiter
	// uiRegisters limits sign-ups through the web form, per source.
	uiRegisters *sourceLimiter
	reqSeq      atomic.Uint64
	reqBase     string
}

// New builds the handler and its routes.
func New(opts Options) (*Server, error) {
	if opts.Proposer == nil || opts.Reader == nil || opts.Status == nil || opts.Logger == nil || opts.Metrics == nil {
		return nil, errors.New("httpui: Proposer, Reader, Status, Logger and Metrics are required")
	}
	if opts.MaxNo <= 0 {
		opts.MaxNo = 1000
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:          opts,
		log:           opts.Logger,
		mux:           http.NewServeMux(),
		hasher:        auth.NewHasher(),
		sessions:      &sessions{reader: opts.Reader},
		pages:         pg,
		simAuth:       newCredentials(opts.SimulatorUsername, opts.SimulatorPassword),
		adminLogins:   auth.NewLoginLimiter(),
		userLogins:    auth.NewLoginLimiterWith(auth.UserLoginBudget),
		secondFactors: auth.NewLoginLimiterWith(secondFactorBudget),
		openRegisters: newSourceLimiter(openRegisterBurst, openRegisterEvery, openRegisterKeys),
		uiRegisters:   newSourceLimiter(uiRegisterBurst, uiRegisterEvery, openRegisterKeys),
		closing:       make(chan struct{}),
		reqBase:       strconv.FormatInt(time.Now().UnixNano()%1e9, 36),
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	// Operations.
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /version", s.version)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.wellKnownRoutes()
	s.mux.HandleFunc("GET "+avatarPrefix+"{hash}", s.avatar)
	s.mux.HandleFunc("GET "+adminAPIPrefix+"backup", s.adminBackup)
	s.mux.HandleFunc("POST "+adminAPIPrefix+"import", s.adminImport)
	s.adminRoutes()

	// Simulator API: no CSRF check may ever touch it, and no rate limit a
	// request with the simulator's credentials.
	api := func(pattern string, h func(*apiCall)) {
		var handler http.Handler = s.api(h)
		if strings.HasPrefix(pattern, "POST ") {
			handler = s.detach(handler)
		}
		s.mux.Handle(pattern, s.apiGuard(handler))
	}
	api("GET /api/latest", s.apiLatest)
	api("POST /api/register", s.apiRegister)
	api("GET /api/msgs", s.apiPublicMessages)
	api("GET /api/msgs/{username}", s.apiUserMessages)
	api("POST /api/msgs/{username}", s.apiPostMessage)
	api("GET /api/fllws/{username}", s.apiFollows)
	api("POST /api/fllws/{username}", s.apiFollowChange)

	// Web UI, behind cross-origin protection for unsafe methods.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "Cross-origin request refused.")
	}))
	ui := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, cop.Handler(h)) }
	// Routes that change state run to their end once read (see detach).
	uiWrite := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, cop.Handler(s.detach(h))) }
	ui("GET /{$}", s.home)
	ui("GET /public", s.publicTimeline)
	ui("GET /{username}", s.userTimeline)
	uiWrite("GET /{username}/follow", s.follow)
	uiWrite("POST /{username}/follow", s.follow)
	uiWrite("GET /{username}/unfollow", s.unfollow)
	uiWrite("POST /{username}/unfollow", s.unfollow)
	uiWrite("POST /add_message", s.addMessage)
	ui("GET /register", s.registerForm)
	uiWrite("POST /register", s.registerSubmit)
	ui("GET /login", s.loginForm)
	uiWrite("POST /login", s.loginSubmit)
	uiWrite("GET /logout", s.logout)
	ui("GET /login/password", s.passwordForm)
	uiWrite("POST /login/password", s.passwordSubmit)
	ui("GET /login/2fa", s.secondFactorForm)
	uiWrite("POST /login/2fa", s.secondFactorSubmit)
	s.staticRoutes()
}

// Close ends the streams in progress; give it to
// http.Server.RegisterOnShutdown so a graceful shutdown does not wait for
// an admin's open log tail.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closing) }) }

// requestInfo travels in the request's context so handlers can add what the
// log line should carry.
type requestInfo struct {
	id   string
	user string
	// stream marks a response that lasts as long as the client wants (the
	// live log tail): counted, but left out of the latency figures.
	stream bool
	// client is the connection's own context: done once the client has
	// gone. Writes run detached from it (see detach), and the log line
	// tells a client that left from a failure of the node.
	client context.Context
}

// statusClientGone is the request log's status for a client that closed
// its connection before the answer (nginx's 499): no answer reached it.
const statusClientGone = 499

// clientGone reports whether the request's client closed its connection.
func clientGone(r *http.Request) bool {
	c := infoFrom(r.Context()).client
	return c != nil && c.Err() != nil
}

// detach runs a write to its end once it is read and validated, whatever
// the client does meanwhile: the simulator gives up after 0.3 s, and a
// registration dropped half-way would turn all of that user's later
// actions into 404s. The write gets its own server-side deadline
// (Options.RequestTimeout) in place of the connection's cancellation.
func (s *Server) detach(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.opts.RequestTimeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

type ctxKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// ServeHTTP wraps every request: request id, deadline, panic recovery, one
// log line, metrics by route pattern.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ri := &requestInfo{id: s.reqBase + "-" + strconv.FormatUint(s.reqSeq.Add(1), 36), client: r.Context()}
	timeout := s.opts.RequestTimeout
	if adminLongRunning(r.URL.Path) {
		timeout = adminAPITimeout // backups, imports and log tails stream for a while
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), ctxKey{}, ri), timeout)
	defer cancel()
	r = r.WithContext(ctx)
	sw := &httpstatus.Writer{ResponseWriter: w}
	sw.Header().Set("X-Request-Id", ri.id)
	securityHeaders(sw.Header())
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("handler panic", "req_id", ri.id, "panic", fmt.Sprint(p))
			if sw.Status == 0 {
				http.Error(sw, "internal error", http.StatusInternalServerError)
			}
		}
		if sw.Status == 0 {
			sw.Status = http.StatusOK
		}
		if ri.client.Err() != nil {
			// Whatever was written went nowhere.
			sw.Status = statusClientGone
		}
		dur := time.Since(start)
		if ri.stream {
			s.opts.Metrics.CountResponse(r.Pattern, sw.Status)
		} else {
			s.opts.Metrics.ObserveRequest(r.Pattern, sw.Status, dur)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && strings.HasPrefix(r.URL.Path, "/api/") {
			s.opts.Metrics.SimulatorRequest(r.Pattern, sw.Status)
		}
		attrs := []slog.Attr{
			slog.String("req_id", ri.id), slog.String("method", r.Method), slog.String("route", r.Pattern),
			slog.String("path", r.URL.Path), slog.Int("status", sw.Status), slog.Int64("bytes", sw.Bytes),
			slog.Float64("dur_ms", float64(dur.Microseconds())/1000), slog.String("ip", s.clientIP(r).String()),
		}
		if ri.user != "" {
			attrs = append(attrs, slog.String("user", ri.user))
		}
		if sw.Status == statusClientGone {
			attrs = append(attrs, slog.Bool("client_gone", true))
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	}()
	s.mux.ServeHTTP(sw, r)
}

// contentSecurityPolicy allows only what the pages use: scripts, styles
// and fetches from this origin (no inline script or style anywhere),
// avatars drawn here (identicons) or, with ui.gravatar, from Gravatar,
// forms posting back here, and no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' https://www.gravatar.com; connect-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// securityHeaders go on every answer, pages, API and errors alike (HSTS is
// added by the node when it serves TLS).
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most address in X-Forwarded-For that is not itself a trusted proxy.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	peer := ap.Addr().Unmap()
	if !containsAddr(s.opts.TrustedProxies, peer) {
		return peer
	}
	hops := splitForwarded(r.Header.Values("X-Forwarded-For"))
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break
		}
		client = a.Unmap()
		if !containsAddr(s.opts.TrustedProxies, client) {
			break
		}
	}
	return client
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
