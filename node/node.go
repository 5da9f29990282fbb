package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/VictoriaMetrics/metrics"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"golang.org/x/net/netutil"

	"minitwit/node/cluster"
	"minitwit/node/config"
	"minitwit/node/publictls"
	"minitwit/ops"
	"minitwit/ops/alerting"
	"minitwit/ops/backup"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Files and folders inside the data dir.
const (
	storeFile    = "minitwit.db"
	raftDir      = "raft"
	raftLogFile  = "raft.db"
	snapshotsDir = "snapshots"
	nodeIDFile   = "node-id"
)

// Options are what a node needs besides its configuration.
type Options struct {
	// Logger receives every log line; nil means JSON lines on stdout at the
	// configured level.
	Logger *slog.Logger
	Build  ops.BuildInfo
	// SampleInterval is how often the admin page's figures are sampled;
	// zero means every 10 s. Tests shorten it.
	SampleInterval time.Duration
	// AlertHold, when set, replaces every alert rule's hold time (the
	// `for` of deploy/alerts.yml). Tests shorten it.
	AlertHold time.Duration
	// RefusalLogInterval is how often the internode port logs the peers it
	// refused (one line per interval); zero means every 10 s. Tests
	// shorten it.
	RefusalLogInterval time.Duration
	// JoinerBound is how long the leader keeps a non-voter that has never
	// answered it (a client that proved the join token and never started
	// Raft); zero means two minutes. Tests shorten it.
	JoinerBound time.Duration

	// holdReadiness makes the node tell the leader it is not ready to vote
	// until released (export_test.go).
	holdReadiness bool

	// DialCluster, when set, opens the raw connections this node makes to
	// other members (Raft, cluster RPC), before TLS. Tests put a fault
	// point here (node/nodetest/faultnet); nil dials directly.
	DialCluster func(ctx context.Context, network, addr string) (net.Conn, error)

	// Handler builds the public listener's handler once the store and Raft
	// are up. cmd/minitwit passes the web layer's (httpui), which the node
	// does not import; nil serves 404 to everything, for a node on its own.
	Handler func(*Node) (Handler, error)

	// Console receives what is for the operator's eyes only, never the
	// log (the first admin's one-time password); nil means standard error.
	Console io.Writer

	// tool marks a node started by an admin tool for one task
	// (WithLocalNode): it warns about no configuration and makes no first
	// admin, whose password the next `serve` tells with its real address.
	tool bool
}

// Handler is the public listener's handler. Close ends its long-lived
// streams when the listener shuts down gracefully.
type Handler interface {
	http.Handler
	Close()
}

// notFound is the public handler of a node started without one.
type notFound struct{ http.Handler }

func (notFound) Close() {}

// Node is one running MiniTwit node. It is a value: a test can run several
// in one process.
type Node struct {
	cfg     config.Config
	nodeID  string
	log     *slog.Logger
	metrics *ops.Metrics
	started time.Time

	store       *store.Store
	fsm         *raftfsm.FSM
	raft        *raft.Raft
	logStore    *raftboltdb.BoltStore
	stable      *guardedStable  // the stable store Raft writes to (stablestore.go)
	tls         *cluster.TLS    // this node's internode identity
	localCA     *cluster.CA     // the CA this node made, until it is in the replicated state
	cluster     *cluster.Server // raft_addr: Raft, cluster RPC, joins (node/cluster)
	snaps       raft.SnapshotStore
	unsynced    atomic.Bool // the data file commits without fsync (durability.go)
	addrChanged bool        // the cluster knows this node at an older address
	transport   *mainThreadTransport
	dialCluster func(ctx context.Context, network, addr string) (net.Conn, error) // Options.DialCluster

	httpLn       net.Listener
	httpSrv      *http.Server
	tlsPublic    *publictls.Public // the public listener's TLS mode (tlspublic.go)
	redirect     *http.Server      // tls.redirect_addr: ACME challenges and 308s to HTTPS
	redirectAddr string
	backups      *backup.Scheduler // nil when no backups are configured (backup.go)
	backupKey    *backup.Key       // backup.encryption_key_file, nil when unset (backup.go)
	alerter      *alerting.Alerter // in-node alerts (alerts.go)
	served       chan error
	proposals    chan *proposal // the group commit queue
	reads        *readGate      // holds reads until the log is applied (readgate.go)
	stalls       *stallWatch    // notices this process's stalls, for leader reads (readgate.go)
	closing      chan struct{}  // closed when shutdown begins
	raftDown     chan struct{}  // closed once Raft has shut down

	// applyMu orders the commit loop's appends against a leadership hand-
	// over: once handingOver is set, nothing more is appended (propose.go).
	applyMu     sync.Mutex
	handingOver atomic.Bool

	// Request IDs and the proposals in flight by ID, so that a retried
	// request joins its first attempt instead of being applied twice.
	idPrefix  [8]byte
	idCounter atomic.Uint64
	pendingMu sync.Mutex
	pending   map[raftfsm.RequestID]*proposal

	stop context.CancelFunc // ends background loops
	bg   sync.WaitGroup     // background loops, waited for before storage closes

	logOut     *ops.LogWriter  // buffered stdout (and file), when the node made its own logger
	logFile    io.WriteCloser  // the rotating log file, if log.file is set
	logRing    *ops.LogRing    // recent log lines, for the admin page
	sampler    *ops.Sampler    // the admin page's charts (adminview.go)
	firstAdmin firstAdminState // firstadmin.go
	// foldWaitSaid: "waiting for the upgrade" was logged (foldnames.go);
	// only the leadership loop touches it.
	foldWaitSaid bool
	// up is set once Start has finished: what the cluster RPC may read of
	// the public listener and the sampler is in place.
	up atomic.Bool
	// heldForTest keeps the node from reporting itself ready to vote.
	heldForTest atomic.Bool
	// readsFormat is the command format this node says it reads: the
	// binary's, lowered by tests to play an older member.
	readsFormat atomic.Int64
	build       ops.BuildInfo
	// refusalLogInterval and joinerBound: Options.RefusalLogInterval and
	// Options.JoinerBound (node/cluster).
	refusalLogInterval time.Duration
	joinerBound        time.Duration
	console            io.Writer // see Options.Console
	tool               bool      // see Options.tool

	applyLatency, forwardLatency *metrics.PrometheusHistogram // metrics.go

	closeOnce sync.Once
	closeErr  error
}

// Start brings a node up and returns once it listens. It is the start-up
// runbook: data dir, identity, store, Raft (bootstrapping a new single-node
// cluster on an empty data dir), then the public listener. Readiness
// (a leader and initialised secrets) follows within moments; see Status.
func Start(cfg config.Config, opts Options) (_ *Node, err error) {
	n := &Node{cfg: cfg, log: opts.Logger, metrics: ops.NewMetrics(), started: time.Now(), build: opts.Build,
		proposals: make(chan *proposal, proposalBuffer), closing: make(chan struct{}),
		raftDown: make(chan struct{}), reads: newReadGate(), pending: map[raftfsm.RequestID]*proposal{},
		dialCluster: opts.DialCluster}
	rand.Read(n.idPrefix[:])
	n.refusalLogInterval, n.joinerBound = opts.RefusalLogInterval, opts.JoinerBound
	n.heldForTest.Store(opts.holdReadiness)
	n.readsFormat.Store(raftfsm.FormatVersion)
	n.console = opts.Console
	n.tool = opts.tool
	if n.console == nil {
		n.console = os.Stderr
	}
	defer func() {
		if err != nil {
			n.tlsPublic.Stop()
			if n.stop != nil {
				n.stop()
				n.bg.Wait()
			}
			_ = n.closeStorage() // the start's own error is the one to report
			if n.httpLn != nil {
				_ = n.httpLn.Close()
			}
			if n.logOut != nil {
				n.logOut.Close()
			}
			if n.logFile != nil {
				n.logFile.Close()
			}
		}
	}()

	// 1. The data dir and this node's persisted identity.
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, raftDir), 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if n.nodeID, err = resolveNodeID(cfg.DataDir, cfg.NodeID); err != nil {
		return nil, err
	}
	n.logRing = ops.NewLogRing(logRingLines, logRingBytes)
	if n.log != nil {
		// A caller's logger (tests, embedding) gets every line; the ring
		// gets them too, so the admin page can show them.
		ring := ops.NewLogger(n.logRing, cfg.SlogLevel(), n.nodeID)
		n.log = slog.New(slog.NewMultiHandler(n.log.Handler(), ring.Handler()))
	} else {
		// stdout, the ring and the file get the same lines; buffering in
		// front of all three keeps a slow disk off the request path.
		// stdout in log.format; the ring and the file always in JSON.
		outs := []io.Writer{ops.ConsoleWriter(os.Stdout, ops.ResolveLogFormat(cfg.Log.Format, os.Stdout)), n.logRing}
		if cfg.Log.File != "" {
			n.logFile = ops.NewRotatingFile(cfg.Log.File, cfg.Log.MaxSizeMB, cfg.Log.MaxFiles)
			outs = append(outs, n.logFile)
		}
		n.logOut = ops.NewLogWriter(io.MultiWriter(outs...), time.Second)
		n.log = ops.NewLogger(n.logOut, cfg.SlogLevel(), n.nodeID)
	}

	// 2. The public listener's port, before anything else: a joining node
	// that cannot bind it must fail before it asks to join (node/cluster/membership.go).
	if n.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("http_addr %s: %w%s", cfg.HTTPAddr, err, privilegedPortHint(err))
	}

	// 3. The data file.
	if n.store, err = n.openDataFile(); err != nil {
		return nil, err
	}
	n.fsm = raftfsm.New(n.store)
	n.latencyMetrics()

	// Half the lease: a stall that long can outlast a follower's patience.
	n.stalls = newStallWatch(cfg.Raft.Timing().LeaderLeaseTimeout / 2)

	// 4. Raft: log, snapshots, transport; bootstrap or rejoin.
	if err := n.startRaft(); err != nil {
		return nil, err
	}

	// 5. Background duties: the group commit loop, secrets on first
	// leadership, promoting caught-up non-voters.
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	n.registerMetrics()
	n.bg.Go(func() { n.watchLeaders(ctx.Done()) })
	n.bg.Go(func() { n.commitLoop(ctx) })
	n.bg.Go(func() { n.watchLeadership(ctx) })
	n.bg.Go(func() { n.stalls.run(ctx) })
	n.bg.Go(func() { n.cluster.PromoteLoop(ctx) })
	n.bg.Go(func() { n.cluster.RenewLoop(ctx) })
	// A tool's node (WithLocalNode) runs for one task on whatever address
	// was free: the cluster must keep the member's serving address.
	if n.addrChanged && !n.tool {
		n.bg.Go(func() { n.announceAddress(ctx) })
	}
	if err := n.startBackups(ctx); err != nil {
		return nil, err
	}
	n.startSampler(ctx, opts.SampleInterval)
	n.startAlerts(ctx, opts.AlertHold)

	// 6. The public listener serves.
	if err := n.startHTTP(opts.Handler); err != nil {
		return nil, err
	}
	if !n.tool {
		n.warnAboutConfig()
	}
	// Every listener is bound: the tools of this machine may find it now.
	if err := n.writeListening(); err != nil {
		n.log.Warn("could not record the listen addresses in the data dir; tools need --addr", "err", err.Error())
	}
	n.log.Info("node started", "http_addr", n.HTTPAddr(), "raft_addr", n.RaftAddr(),
		"data_dir", cfg.DataDir, "version", opts.Build.Version)
	if n.logOut != nil {
		n.logOut.Flush() // start-up lines are wanted now, not a second later
	}
	n.up.Store(true)
	return n, nil
}

// resolveNodeID returns the node's stable id. The first start records it in
// the data dir; later starts reuse it, because Raft knows the node by this
// id and a node that changed it would not find itself in its own cluster.
func resolveNodeID(dataDir, configured string) (string, error) {
	path := filepath.Join(dataDir, nodeIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		stored := strings.TrimSpace(string(b))
		if configured != "" && configured != stored && configured != config.Default().NodeID {
			return "", fmt.Errorf("node_id: this data dir belongs to node %q, not %q; use the same id or a new data dir", stored, configured)
		}
		return stored, nil
	case errors.Is(err, os.ErrNotExist):
		if configured == "" {
			return "", errors.New("node_id: empty")
		}
		if err := os.WriteFile(path, []byte(configured+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("node_id: %w", err)
		}
		return configured, nil
	default:
		return "", fmt.Errorf("node_id: %w", err)
	}
}

func (n *Node) startHTTP(newHandler func(*Node) (Handler, error)) (err error) {
	var handler Handler = notFound{http.NotFoundHandler()}
	if newHandler != nil {
		if handler, err = newHandler(n); err != nil {
			return err
		}
	}
	_, httpsPort, _ := net.SplitHostPort(n.httpLn.Addr().String())
	if n.tlsPublic, err = n.setupPublicTLS(httpsPort); err != nil {
		return err
	}
	// No server-wide write timeout, so that long-lived streams (the admin
	// page's log tail) can live; every request gets a write deadline
	// instead, which a streaming handler extends for itself through
	// http.ResponseController.
	public := withWriteDeadline(requestWriteTimeout, handler)
	if n.tlsPublic.HSTS != "" {
		public = publictls.WithHSTS(n.tlsPublic.HSTS, public)
	}
	n.httpSrv = &http.Server{
		Handler:           public,
		TLSConfig:         n.tlsPublic.Config,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       time.Duration(n.cfg.HTTP.IdleTimeout),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	n.httpSrv.RegisterOnShutdown(handler.Close)
	n.served = make(chan error, 1)
	// At most http.max_connections at once: past that, new connections
	// wait unaccepted in the kernel's queue instead of costing a file
	// descriptor and a goroutine each (a flood of half-open connections).
	// One source address holds at most a quarter of them (trusted proxies
	// excepted), so one client cannot take them all (ops/sourceconns.go).
	perSource := ops.LimitPerSource(n.httpLn, ops.PerSourceConnections(n.cfg.HTTP.MaxConnections), n.cfg.TrustedProxies())
	ln := netutil.LimitListener(perSource, n.cfg.HTTP.MaxConnections)
	if n.tlsPublic.Config != nil {
		go func() { n.served <- n.httpSrv.ServeTLS(ln, "", "") }()
	} else {
		go func() { n.served <- n.httpSrv.Serve(ln) }()
	}
	n.startRedirect()
	if err := n.tlsPublic.Manage(); err != nil {
		n.httpSrv.Close()
		if n.redirect != nil {
			n.redirect.Close()
		}
		return err
	}
	return nil
}

// startRedirect serves tls.redirect_addr. A port that cannot be bound is
// logged and the node goes on without it: HTTPS still works, and so does
// the TLS-ALPN challenge.
func (n *Node) startRedirect() {
	if n.tlsPublic.Redirect == nil || n.cfg.TLS.RedirectAddr == "" {
		return
	}
	ln, err := net.Listen("tcp", n.cfg.TLS.RedirectAddr)
	if err != nil {
		n.log.Error("tls.redirect_addr cannot be bound: no HTTP-01 challenges and no redirect to HTTPS on this node",
			"addr", n.cfg.TLS.RedirectAddr, "err", err.Error()+privilegedPortHint(err))
		return
	}
	n.redirect = &http.Server{
		Handler:           n.tlsPublic.Redirect,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	n.redirectAddr = ln.Addr().String()
	go func() {
		if err := n.redirect.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("the HTTP redirect listener stopped", "addr", n.redirectAddr, "err", err.Error())
		}
	}()
}

// The in-memory ring of recent log lines: enough for the admin page's view
// of the last minutes under load, bounded in memory.
const (
	logRingLines = 10_000
	logRingBytes = 8 << 20
)

// LogRing holds this node's recent log lines (with a caller's logger too).
func (n *Node) LogRing() *ops.LogRing { return n.logRing }

// requestWriteTimeout bounds how long answering one request may take.
const requestWriteTimeout = 60 * time.Second

// withWriteDeadline sets a write deadline on every request.
func withWriteDeadline(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
		h.ServeHTTP(w, r)
	})
}

// privilegedPortHint says how to bind ports below 1024 without root when
// err is a permission error.
func privilegedPortHint(err error) string {
	if errors.Is(err, os.ErrPermission) {
		return " (ports below 1024 need root or CAP_NET_BIND_SERVICE: setcap cap_net_bind_service=+ep minitwit, or AmbientCapabilities in the systemd unit)"
	}
	return ""
}

// RedirectAddr is the address the plain-HTTP redirect listener is bound
// to, or "" when there is none.
func (n *Node) RedirectAddr() string {
	if n.redirect == nil {
		return ""
	}
	return n.redirectAddr
}

// warnAboutConfig logs what an operator should fix.
func (n *Node) warnAboutConfig() {
	for _, w := range n.configWarnings() {
		n.log.Warn(w)
	}
	if accepted := n.cfg.AcceptedIPs(); accepted != nil {
		for _, local := range []string{"127.0.0.1", "::1"} {
			if !containsIP(accepted, local) {
				n.log.Warn("simulator.accepted_ips refuses this machine's own address; `minitwit simulate` run here will get 403", "address", local)
			}
		}
	}
}

// Served returns a channel that yields the HTTP server's exit error.
func (n *Node) Served() <-chan error { return n.served }

// HTTPAddr is the address the public listener is bound to.
func (n *Node) HTTPAddr() string { return n.httpLn.Addr().String() }

// DataDir is where the node keeps everything.
func (n *Node) DataDir() string { return n.cfg.DataDir }

// Config is the configuration the node was started with; the public
// handler takes its settings from it.
func (n *Node) Config() config.Config { return n.cfg }

// Logger is the node's logger: what goes through it also reaches the admin
// page's log view.
func (n *Node) Logger() *slog.Logger { return n.log }

// Metrics is the node's metrics registry, served at /metrics.
func (n *Node) Metrics() *ops.Metrics { return n.metrics }

// Build is the version of the binary the node runs.
func (n *Node) Build() ops.BuildInfo { return n.build }

// RaftAddr is the internode address other members reach this node at.
func (n *Node) RaftAddr() string { return n.cluster.Addr().String() }

// ID is the node's stable id.
func (n *Node) ID() string { return n.nodeID }

// Store is the node's local store (read side).
func (n *Node) Store() *store.Store { return n.store }

// LocalStore is the local store without waiting for the leader: it may lag
// behind writes made through other nodes.
func (n *Node) LocalStore() *store.Store { return n.store }

// WaitReady blocks until the node reports ready or ctx ends.
func (n *Node) WaitReady(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		st := n.Status()
		if st.Ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not ready (%s): %w", n.nodeID, st.Reason, ctx.Err())
		case <-t.C:
		}
	}
}

// Close is the shut-down runbook: stop accepting requests and let those in
// flight finish (their writes complete and are acknowledged), then stop
// Raft, then close the files. Nothing acknowledged is lost: every
// acknowledged write is in the fsynced Raft log and the fsynced data file.
func (n *Node) Close(ctx context.Context) error {
	n.closeOnce.Do(func() { n.closeErr = n.close(ctx) })
	return n.closeErr
}

// Shutdown budget. A stop under load ends within about 10 s whatever the
// cluster's state: in-flight requests get drainBound to finish (they take
// milliseconds when there is a quorum; without one they would wait for
// their own 10 s timeout), the leadership hand-over handOverBound, the
// cluster RPC's drain rpcDrainBound. A request cut off after the drain
// sees a broken connection: an unknown outcome, never a false success.
const (
	drainBound    = 4 * time.Second
	handOverBound = 3 * time.Second
	rpcDrainBound = time.Second
)

func (n *Node) close(ctx context.Context) error {
	var errs []error
	dctx, cancel := context.WithTimeout(ctx, drainBound)
	defer cancel()
	if n.httpSrv != nil {
		if err := n.httpSrv.Shutdown(dctx); err != nil {
			if ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("http shutdown: %w", err))
			} else {
				n.log.Warn("requests still running after the drain were cut off", "drain", drainBound.String())
			}
			n.httpSrv.Close()
		}
	}
	if n.redirect != nil {
		if err := n.redirect.Shutdown(dctx); err != nil {
			errs = append(errs, fmt.Errorf("redirect shutdown: %w", err))
			n.redirect.Close()
		}
	}
	n.tlsPublic.Stop()
	n.handOverLeadership()
	close(n.closing)
	if n.stop != nil {
		n.stop()
	}
	n.bg.Wait()
	errs = append(errs, n.closeStorage())
	n.removeListening()
	n.log.Info("node stopped")
	if n.logOut != nil {
		n.logOut.Close()
	}
	if n.logFile != nil {
		n.logFile.Close()
	}
	return errors.Join(errs...)
}

// handOverLeadership transfers leadership before a planned stop, so the
// cluster has a leader again within moments instead of waiting out an
// election timeout. It first stops appending (new proposals are answered
// "not the leader" and go to the next leader; nothing was appended for
// them) and waits until every appended entry is applied and answered: an
// entry still in flight when leadership moves would be answered "leadership
// lost", an unknown outcome its client sees as a failure.
func (n *Node) handOverLeadership() {
	if n.raft == nil || n.raft.State() != raft.Leader {
		return
	}
	if n.soleVoter() {
		return
	}
	n.applyMu.Lock()
	n.handingOver.Store(true)
	n.applyMu.Unlock()
	// Both waits share one bound, so a hand-over that cannot happen (no
	// quorum) delays the stop by seconds, not forever.
	ctx, cancel := context.WithTimeout(context.Background(), handOverBound)
	defer cancel()
	if err := n.await(ctx, n.raft.Barrier(handOverBound)); err != nil {
		n.log.Warn("draining writes before the leadership transfer failed", "err", err.Error())
	}
	if err := n.await(ctx, n.raft.LeadershipTransfer()); err != nil {
		n.log.Warn("leadership transfer before stopping failed", "err", err.Error())
		return
	}
	// Followers learn of the new leader from its first heartbeat; until
	// then they may still forward here, and get "not the leader" back
	// while this node keeps answering.
	deadline := time.Now().Add(2 * n.cfg.Raft.Timing().HeartbeatTimeout)
	leader := raft.ServerID("")
	for time.Now().Before(deadline) {
		if _, id := n.raft.LeaderWithID(); id != "" && string(id) != n.nodeID {
			leader = id
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	n.log.Info("leadership transferred before stopping", "to", string(leader))
	time.Sleep(time.Until(deadline))
}

// closeStorage stops the cluster RPC (letting calls in progress finish),
// stops Raft and closes the files. The fields stay set: a late reader sees
// Raft in its shutdown state and a closed store, both of which answer with
// errors rather than crash.
func (n *Node) closeStorage() error {
	var errs []error
	if n.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), rpcDrainBound)
		n.cluster.ShutdownRPC(ctx)
		cancel()
	}
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
	}
	close(n.raftDown)
	// Raft has stopped: closing its transport and the internode listener
	// only releases sockets, and loses nothing if it fails.
	if n.transport != nil {
		_ = n.transport.Close()
	}
	if n.cluster != nil {
		_ = n.cluster.Close()
	}
	if n.stable != nil {
		n.stable.close()
	}
	if n.logStore != nil {
		errs = append(errs, n.logStore.Close())
	}
	if n.store != nil {
		errs = append(errs, n.leaveUnsyncedMode(), n.store.Close())
	}
	return errors.Join(errs...)
}

func newSessionKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}
