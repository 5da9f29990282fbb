package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"minitwit/node/cluster"
	"minitwit/node/nodeinfo"
	"minitwit/ops"
)

// What the admin page shows about the cluster (httpui's AdminBackend). Any
// node's admin page shows every member: it asks each member over the
// cluster RPC (node certificates, internode port) for its own description,
// samples and log lines, so an operator watching one address sees all of
// them, followers included.
const (
	// memberInfoTimeout bounds how long the overview waits for a member; a
	// member that does not answer in time is shown as unreachable.
	memberInfoTimeout = 2 * time.Second
	// sampleEvery and sampleKeep: a point every 10 s for the last 24 h.
	sampleEvery = 10 * time.Second
	sampleKeep  = 24 * 60 * 6
)

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
		RaftTiming: n.cfg.Raft.Timing().String(),
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
	if n.tlsPublic != nil && n.tlsPublic.Config == nil && n.httpLn != nil {
		if ap, err := netip.ParseAddrPort(n.httpLn.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
			out = append(out, "Plain HTTP on a public address ("+n.httpLn.Addr().String()+"): passwords and sessions travel unencrypted; set tls.domain (or --tls self-signed).")
		}
	}
	if n.cfg.Backup.Dir == "" && n.cfg.Backup.S3.Bucket == "" {
		out = append(out, "No scheduled backups are configured: set backup.dir or backup.s3.*.")
	}
	if n.cfg.Backup.S3.Bucket != "" && n.cfg.Backup.EncryptionKeyFile == "" {
		out = append(out, "Backups go to S3 unencrypted, with the cluster's CA key, session key and join token in them: set backup.encryption_key_file (minitwit backup keygen FILE).")
	}
	if p := n.cfg.Backup.EncryptionKeyFile; p != "" {
		if info, err := os.Stat(p); err == nil && info.Mode().Perm()&0o077 != 0 {
			out = append(out, "The backup encryption key "+p+" is readable by other users ("+info.Mode().Perm().String()+"): chmod 600 it.")
		}
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
	if st, err := n.cluster.CAState(); err == nil {
		ov.CA = &nodeinfo.CA{Current: st.Current, Next: st.Next, Previous: st.Previous}
	}

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
			info, err := n.cluster.Client().Info(cctx, m.Address)
			if err != nil {
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
	return n.cluster.Client().Samples(ctx, addr, since)
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
	return n.cluster.Client().RecentLogs(ctx, addr, max)
}

// TailLogs streams a member's new log lines until ctx ends.
func (n *Node) TailLogs(ctx context.Context, id string) (<-chan string, error) {
	addr, self, err := n.memberAddr(id)
	if err != nil {
		return nil, err
	}
	if self {
		lines, cancel := n.logRing.Subscribe(cluster.TailBuffer)
		context.AfterFunc(ctx, cancel)
		return lines, nil
	}
	return n.cluster.Client().TailLogs(ctx, addr)
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
	return n.cluster.Client().LogFile(ctx, addr, w, name)
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
