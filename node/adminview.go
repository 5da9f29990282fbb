package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"minitwit/node/nodeinfo"
	"minitwit/ops"
	"minitwit/store"
)

// What the admin page shows about the cluster (httpui's AdminBackend). Any
// node's admin page shows every member: it asks each member over the
// cluster RPC (node certificates, internode port) for its own description,
// samples and log lines, so an operator watching one address sees all of
// them, followers included.
const (
	rpcInfo       = "/info"
	rpcSamples    = "/samples"
	rpcLogsRecent = "/logs/recent"
	rpcLogsTail   = "/logs/tail"
	rpcLogsFile   = "/logs/file"

	// memberInfoTimeout bounds how long the overview waits for a member; a
	// member that does not answer in time is shown as unreachable.
	memberInfoTimeout = 2 * time.Second
	// sampleEvery and sampleKeep: a point every 10 s for the last 24 h.
	sampleEvery = 10 * time.Second
	sampleKeep  = 24 * 60 * 6
)

func (n *Node) adminViewRoutes(mux *http.ServeMux) {
	// The cluster RPC answers while the node is still starting; these two
	// read what Start sets up last, so they wait for it.
	mux.HandleFunc("GET "+rpcInfo, func(w http.ResponseWriter, r *http.Request) {
		if !n.up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(n.Info())
	})
	mux.HandleFunc("GET "+rpcSamples, func(w http.ResponseWriter, r *http.Request) {
		if !n.up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		json.NewEncoder(w).Encode(n.samples(time.Unix(0, since)))
	})
	mux.HandleFunc("GET "+rpcLogsRecent, func(w http.ResponseWriter, r *http.Request) {
		max, _ := strconv.Atoi(r.URL.Query().Get("max"))
		json.NewEncoder(w).Encode(n.logRing.Lines(max))
	})
	mux.HandleFunc("GET "+rpcLogsTail, n.rpcServeLogTail)
	mux.HandleFunc("GET "+rpcClusterFormat, n.rpcServeClusterFormat)
	mux.HandleFunc("GET "+rpcLogsFile, func(w http.ResponseWriter, r *http.Request) {
		started := false
		err := n.writeLogFile(w, func(name string) { started = true; w.Header().Set("Minitwit-Filename", name) })
		if err != nil && !started {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
}

// startSampler samples this node's figures for the admin page's charts.
func (n *Node) startSampler(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = sampleEvery
	}
	n.sampler = ops.NewSampler(every, sampleKeep, n.reading)
	n.sampler.Sample() // the first reading primes the rates
	n.bg.Go(func() { n.sampler.Run(ctx) })
}

// samples are this node's points since a time; none while the node starts
// (the cluster RPC answers before the sampler runs).
func (n *Node) samples(since time.Time) []ops.Point {
	if n.sampler == nil {
		return []ops.Point{}
	}
	return n.sampler.Points(since)
}

func (n *Node) reading() ops.Reading {
	commit, applied := n.raft.CommitIndex(), n.raft.AppliedIndex()
	rd := ops.Reading{RequestTotals: n.metrics.Totals(), At: time.Now(), AppliedIndex: applied,
		HeapBytes: ops.ReadHeapBytes()}
	if commit > applied {
		rd.RaftLag = float64(commit - applied)
	}
	return rd
}

// Info describes this node for the admin page's overview.
func (n *Node) Info() nodeinfo.Info {
	st := n.Status()
	info := nodeinfo.Info{
		ID: n.nodeID, RaftAddr: n.RaftAddr(), Role: st.Role,
		Version: n.build.Version, StartedAt: n.started.UTC(),
		AppliedIndex: st.AppliedIndex, CommitIndex: st.CommitIndex, Ready: st.Ready, Reason: st.Reason,
		CertExpiry: n.CertificateExpiry(), HeapBytes: int64(ops.ReadHeapBytes()), Format: int(n.readsFormat.Load()),
	}
	if n.httpLn != nil { // not yet while the node starts
		info.HTTPAddr = n.HTTPAddr()
	}
	stats := n.raft.Stats()
	info.LastIndex, _ = strconv.ParseUint(stats["last_log_index"], 10, 64)
	switch {
	case st.Role == "leader":
		info.LastContact = "is the leader"
	case stats["last_contact"] == "never":
		info.LastContact = "never"
	default:
		if d, err := time.ParseDuration(stats["last_contact"]); err == nil {
			info.LastContact = d.Round(time.Millisecond).String() + " ago"
		} else {
			info.LastContact = stats["last_contact"]
		}
	}
	if fi, err := os.Stat(filepath.Join(n.cfg.DataDir, storeFile)); err == nil {
		info.DataBytes = fi.Size()
	}
	if pts := n.samples(time.Now().Add(-3 * sampleEvery)); len(pts) > 0 {
		info.Last = &pts[len(pts)-1]
	}
	if b, ok := n.BackupStatus(); ok {
		info.Backup = &nodeinfo.BackupInfo{Targets: n.backupTargets(), Interval: time.Duration(n.cfg.Backup.Interval).String(),
			LastGood: b.LastGood, LastGoodKey: b.LastGoodKey, LastError: b.LastError,
			LastErrorAt: b.LastErrorAt, Failures: b.Failures}
	}
	return info
}

// backupTargets names where scheduled backups go, without credentials.
func (n *Node) backupTargets() []string {
	var out []string
	if d := n.cfg.Backup.Dir; d != "" {
		out = append(out, d)
	}
	if c := n.cfg.Backup.S3; c.Bucket != "" {
		out = append(out, "s3://"+c.Bucket+"/"+c.Prefix+" at "+c.Endpoint)
	}
	return out
}

// configWarnings lists what the operator should fix: each is logged at
// start and shown on the admin page.
func (n *Node) configWarnings() []string {
	var out []string
	if _, isDefault := n.cfg.SimulatorPassword(); isDefault {
		out = append(out, "The simulator API uses the course's default password: set simulator.password_file or MINITWIT_SIM_PASSWORD.")
	}
	if n.tlsPublic != nil && n.tlsPublic.config == nil && n.httpLn != nil {
		if ap, err := netip.ParseAddrPort(n.httpLn.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
			out = append(out, "Plain HTTP on a public address ("+n.httpLn.Addr().String()+"): passwords and sessions travel unencrypted; set tls.domain (or --tls self-signed).")
		}
	}
	if n.cfg.Backup.Dir == "" && n.cfg.Backup.S3.Bucket == "" {
		out = append(out, "No scheduled backups are configured: set backup.dir or backup.s3.*.")
	}
	if n.cfg.Metrics.Token == "" {
		out = append(out, "metrics.token is not set: Prometheus cannot scrape /metrics (admins can still read it).")
	}
	return out
}

// Overview describes every member, asking the others in parallel.
func (n *Node) Overview(ctx context.Context) nodeinfo.Overview {
	ov := nodeinfo.Overview{Self: n.nodeID, Warnings: n.configWarnings(), Alerts: n.Alerts()}
	_, leader := n.raft.LeaderWithID()
	ov.Leader = string(leader)
	var sec store.ClusterSecrets
	if err := n.store.View(func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil }); err != nil {
		ov.Warnings = append(ov.Warnings, "reading the join token failed: "+err.Error())
	}
	ov.JoinToken = string(sec.JoinToken)

	members := n.memberList()
	ov.Nodes = make([]nodeinfo.Info, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		if m.ID == n.nodeID {
			ov.Nodes[i] = n.Info()
			ov.Nodes[i].Voter = m.Voter // the configuration says, not the member
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, memberInfoTimeout)
			defer cancel()
			var info nodeinfo.Info
			if err := n.getJSON(cctx, m.Address, rpcInfo, &info); err != nil {
				info = nodeinfo.Info{ID: m.ID, RaftAddr: m.Address, Err: err.Error()}
			}
			info.Voter = m.Voter
			ov.Nodes[i] = info
		})
	}
	wg.Wait()
	return ov
}

// MemberIDs names this node and every member of its configuration.
func (n *Node) MemberIDs() (string, []string) {
	var ids []string
	for _, m := range n.memberList() {
		ids = append(ids, m.ID)
	}
	return n.nodeID, ids
}

// memberAddr is the internode address of a member other than this node;
// self reports whether id is this node.
func (n *Node) memberAddr(id string) (addr string, self bool, err error) {
	if id == "" || id == n.nodeID {
		return "", true, nil
	}
	addr, ok := n.Members()[id]
	if !ok {
		return "", false, fmt.Errorf("%q: %w", id, nodeinfo.ErrUnknownNode)
	}
	return addr, false, nil
}

// Samples returns a member's sampled figures since a time.
func (n *Node) Samples(ctx context.Context, id string, since time.Time) ([]ops.Point, error) {
	addr, self, err := n.memberAddr(id)
	if err != nil {
		return nil, err
	}
	if self {
		return n.samples(since), nil
	}
	var pts []ops.Point
	err = n.getJSON(ctx, addr, rpcSamples+"?since="+strconv.FormatInt(since.UnixNano(), 10), &pts)
	return pts, err
}

// RecentLogs returns up to max of a member's recent log lines.
func (n *Node) RecentLogs(ctx context.Context, id string, max int) ([]string, error) {
	addr, self, err := n.memberAddr(id)
	if err != nil {
		return nil, err
	}
	if self {
		return n.logRing.Lines(max), nil
	}
	var lines []string
	err = n.getJSON(ctx, addr, rpcLogsRecent+"?max="+strconv.Itoa(max), &lines)
	return lines, err
}

// tailBuffer is how many lines a slow viewer may fall behind before lines
// are dropped for it (the ring counts them); logging never waits.
const tailBuffer = 1024

// TailLogs streams a member's new log lines until ctx ends.
func (n *Node) TailLogs(ctx context.Context, id string) (<-chan string, error) {
	addr, self, err := n.memberAddr(id)
	if err != nil {
		return nil, err
	}
	if self {
		lines, cancel := n.logRing.Subscribe(tailBuffer)
		context.AfterFunc(ctx, cancel)
		return lines, nil
	}
	out := make(chan string, tailBuffer)
	resp, err := n.rpcGet(ctx, addr, rpcLogsTail)
	if err != nil {
		return nil, err
	}
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if sc.Text() == "" {
				continue // keep-alive
			}
			select {
			case out <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// tailKeepAlive is how often an idle internode tail sends an empty line,
// so a dead viewer is noticed and its subscription released.
const tailKeepAlive = 15 * time.Second

// rpcServeLogTail streams this node's new log lines, one per line.
func (n *Node) rpcServeLogTail(w http.ResponseWriter, r *http.Request) {
	lines, cancel := n.logRing.Subscribe(tailBuffer)
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	bw := bufio.NewWriter(w)
	keepAlive := time.NewTicker(tailKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-n.closing:
			return
		case <-keepAlive.C:
			bw.WriteByte('\n')
		case l, ok := <-lines:
			if !ok {
				return
			}
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
	}
}

// DownloadLogs writes a member's current log file (or its in-memory lines
// when it writes no file).
func (n *Node) DownloadLogs(ctx context.Context, id string, w io.Writer, name func(string)) error {
	addr, self, err := n.memberAddr(id)
	if err != nil {
		return err
	}
	if self {
		return n.writeLogFile(w, name)
	}
	resp, err := n.rpcGet(ctx, addr, rpcLogsFile)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	name(resp.Header.Get("Minitwit-Filename"))
	_, err = io.Copy(w, resp.Body)
	return err
}

// writeLogFile copies the current log file, which the rotation may rename
// under us: the open file stays readable, so the copy is whole.
func (n *Node) writeLogFile(w io.Writer, name func(string)) error {
	if n.cfg.Log.File == "" {
		name(n.nodeID + "-recent.log")
		bw := bufio.NewWriter(w)
		for _, l := range n.logRing.Lines(0) {
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
		return bw.Flush()
	}
	if n.logOut != nil {
		n.logOut.Flush()
	}
	f, err := os.Open(n.cfg.Log.File)
	if err != nil {
		return err
	}
	defer f.Close()
	name(n.nodeID + "-" + filepath.Base(n.cfg.Log.File))
	_, err = io.Copy(w, f)
	return err
}

// rpcGet sends a GET to a member and returns the response when it is 200.
func (n *Node) rpcGet(ctx context.Context, addr, path string) (*http.Response, error) {
	resp, err := rpcSend(ctx, n.rpc, http.MethodGet, addr, path, nil)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, fmt.Errorf("%s did not answer in time", addr)
	}
	return resp, err
}

func (n *Node) getJSON(ctx context.Context, addr, path string, v any) error {
	resp, err := n.rpcGet(ctx, addr, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v)
}
