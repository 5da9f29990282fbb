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

	"minitwit/httpui"
	"minitwit/node/config"
	"minitwit/ops"
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
	// Console receives what is for the operator's eyes only, never the
	// log (the first admin's one-time password); nil means standard error.
	Console io.Writer
}

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
	stable      *guardedStable   // the stable store Raft writes to (stablestore.go)
	tls         *nodeTLS         // this node's internode identity (clustertls.go)
	localCA     *clusterCA       // the CA this node made, until it is in the replicated state
	cluster     *clusterListener // raft_addr: Raft, cluster RPC, joins (transport.go)
	rpc         *http.Client     // calls to other members (rpc.go)
	rpcServer   *http.Server
	snaps       raft.SnapshotStore
	unsynced    atomic.Bool // the data file commits without fsync (durability.go)
	addrChanged bool        // the cluster knows this node at an older address
	transport   *raft.NetworkTransport

	httpLn       net.Listener
	httpSrv      *http.Server
	tlsPublic    *publicTLS   // the public listener's TLS mode (publictls.go)
	redirect     *http.Server // tls.redirect_addr: ACME challenges and 308s to HTTPS
	redirectAddr string
	backups      *backup.Scheduler // nil when no backups are configured (backup.go)
	served       chan error
	proposals    chan *proposal // the group commit queue
	reads        *readGate      // holds reads until the log is applied (readgate.go)
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
	// up is set once Start has finished: what the cluster RPC may read of
	// the public listener and the sampler is in place.
	up atomic.Bool
	// formats remembers which command formats every member reads
	// (formatgate.go).
	formats formatGate
	// readsFormat is the command format this node says it reads: the
	// binary's, lowered by tests to play an older member.
	readsFormat atomic.Int64
	build       ops.BuildInfo
	console     io.Writer // see Options.Console

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
		raftDown: make(chan struct{}), reads: newReadGate(), pending: map[raftfsm.RequestID]*proposal{}}
	rand.Read(n.idPrefix[:])
	n.readsFormat.Store(raftfsm.FormatVersion)
	n.console = opts.Console
	if n.console == nil {
		n.console = os.Stderr
	}
	defer func() {
		if err != nil {
			if n.tlsPublic != nil && n.tlsPublic.stop != nil {
				n.tlsPublic.stop()
			}
			if n.stop != nil {
				n.stop()
				n.bg.Wait()
			}
			n.closeStorage()
			if n.logOut != nil {
				n.logOut.Close()
			}
			if n.logFile != nil {
				n.logFile.Close()
			}
		}
	}()

	// 1. The data dir and this node's persisted identity.
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, raftDir, snapshotsDir), 0o700); err != nil {
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
		outs := []io.Writer{os.Stdout, n.logRing}
		if cfg.Log.File != "" {
			n.logFile = ops.NewRotatingFile(cfg.Log.File, cfg.Log.MaxSizeMB, cfg.Log.MaxFiles)
			outs = append(outs, n.logFile)
		}
		n.logOut = ops.NewLogWriter(io.MultiWriter(outs...), time.Second)
		n.log = ops.NewLogger(n.logOut, cfg.SlogLevel(), n.nodeID)
	}

	// 2. The data file.
	if n.store, err = store.Open(filepath.Join(cfg.DataDir, storeFile), store.Options{}); err != nil {
		return nil, err
	}
	n.fsm = raftfsm.New(n.store)
	n.latencyMetrics()

	// 3. Raft: log, snapshots, transport; bootstrap or rejoin.
	if err := n.startRaft(); err != nil {
		return nil, err
	}

	// 4. Background duties: the group commit loop, secrets on first
	// leadership.
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	n.registerMetrics()
	n.bg.Go(func() { n.watchLeaders(ctx.Done()) })
	n.bg.Go(func() { n.commitLoop(ctx) })
	n.bg.Go(func() { n.watchLeadership(ctx) })
	if n.addrChanged {
		n.bg.Go(func() { n.announceAddress(ctx) })
	}
	if err := n.startBackups(ctx); err != nil {
		return nil, err
	}
	n.startSampler(ctx, opts.SampleInterval)

	// 5. The public listener.
	if err := n.startHTTP(opts.Build); err != nil {
		return nil, err
	}
	n.warnAboutConfig()
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

func (n *Node) startHTTP(build ops.BuildInfo) error {
	simPass, _ := n.cfg.SimulatorPassword()
	handler, err := httpui.New(httpui.Options{
		Proposer: n, Reader: n, Status: n, Logger: n.log, Metrics: n.metrics, Build: build,
		SimulatorUsername: n.cfg.Simulator.Username, SimulatorPassword: simPass,
		AcceptedIPs: n.cfg.AcceptedIPs(), TrustedProxies: n.cfg.TrustedProxies(),
		MaxNo: n.cfg.API.MaxNo, MaxBodyBytes: n.cfg.API.MaxBodyBytes, MetricsToken: n.cfg.Metrics.Token,
		AdminToken: n.cfg.Admin.Token, Operations: nodeOperations{n}, Admin: n,
	})
	if err != nil {
		return err
	}
	n.httpLn, err = net.Listen("tcp", n.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http_addr %s: %w%s", n.cfg.HTTPAddr, err, privilegedPortHint(err))
	}
	_, httpsPort, _ := net.SplitHostPort(n.httpLn.Addr().String())
	if n.tlsPublic, err = n.setupPublicTLS(httpsPort); err != nil {
		n.httpLn.Close()
		return err
	}
	// No server-wide write timeout, so that long-lived streams (the admin
	// page's log tail) can live; every request gets a write deadline
	// instead, which a streaming handler extends for itself through
	// http.ResponseController.
	public := withWriteDeadline(requestWriteTimeout, handler)
	if n.tlsPublic.hsts != "" {
		public = withHSTS(n.tlsPublic.hsts, public)
	}
	n.httpSrv = &http.Server{
		Handler:           public,
		TLSConfig:         n.tlsPublic.config,
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
	ln := netutil.LimitListener(n.httpLn, n.cfg.HTTP.MaxConnections)
	if n.tlsPublic.config != nil {
		go func() { n.served <- n.httpSrv.ServeTLS(ln, "", "") }()
	} else {
		go func() { n.served <- n.httpSrv.Serve(ln) }()
	}
	n.startRedirect()
	if n.tlsPublic.manage != nil {
		if err := n.tlsPublic.manage(); err != nil {
			n.httpSrv.Close()
			if n.redirect != nil {
				n.redirect.Close()
			}
			return err
		}
	}
	return nil
}

// startRedirect serves tls.redirect_addr. A port that cannot be bound is
// logged and the node goes on without it: HTTPS still works, and so does
// the TLS-ALPN challenge.
func (n *Node) startRedirect() {
	if n.tlsPublic.redirect == nil || n.cfg.TLS.RedirectAddr == "" {
		return
	}
	ln, err := net.Listen("tcp", n.cfg.TLS.RedirectAddr)
	if err != nil {
		n.log.Error("tls.redirect_addr cannot be bound: no HTTP-01 challenges and no redirect to HTTPS on this node",
			"addr", n.cfg.TLS.RedirectAddr, "err", err.Error()+privilegedPortHint(err))
		return
	}
	n.redirect = &http.Server{
		Handler:           n.tlsPublic.redirect,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	n.redirectAddr = ln.Addr().String()
	go n.redirect.Serve(ln)
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

func (n *Node) close(ctx context.Context) error {
	var errs []error
	if n.httpSrv != nil {
		if err := n.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
			n.httpSrv.Close()
		}
	}
	if n.redirect != nil {
		n.redirect.Shutdown(ctx)
	}
	if n.tlsPublic != nil && n.tlsPublic.stop != nil {
		n.tlsPublic.stop()
	}
	n.handOverLeadership()
	close(n.closing)
	if n.stop != nil {
		n.stop()
	}
	n.bg.Wait()
	errs = append(errs, n.closeStorage())
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
	voters := 0
	for _, s := range n.raft.GetConfiguration().Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	if voters < 2 {
		return
	}
	n.applyMu.Lock()
	n.handingOver.Store(true)
	n.applyMu.Unlock()
	if err := n.raft.Barrier(5 * time.Second).Error(); err != nil {
		n.log.Warn("draining writes before the leadership transfer failed", "err", err.Error())
	}
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		n.log.Warn("leadership transfer before stopping failed", "err", err.Error())
		return
	}
	// Followers learn of the new leader from its first heartbeat; until
	// then they may still forward here, and get "not the leader" back
	// while this node keeps answering.
	deadline := time.Now().Add(2 * heartbeatTimeout)
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
	if n.rpcServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if n.rpcServer.Shutdown(ctx) != nil {
			n.rpcServer.Close()
		}
		cancel()
	}
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
	}
	close(n.raftDown)
	if n.transport != nil {
		n.transport.Close()
	}
	if n.cluster != nil {
		n.cluster.Close()
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
