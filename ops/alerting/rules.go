package alerting

import (
	"fmt"
	"math"
	"time"
)

// Facts is what one member reports about itself to the evaluator: the
// figures behind deploy/alerts.yml's expressions, as /metrics serves them.
type Facts struct {
	ID        string    `json:"id"`
	StartedAt time.Time `json:"started_at"`
	// Leader is the leader this member knows, "" when it knows none.
	Leader       string `json:"leader"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// SimRequests and SimErrors count since the member started
	// (minitwit_simulator_requests_total, minitwit_simulator_errors_total).
	SimRequests uint64 `json:"sim_requests"`
	SimErrors   uint64 `json:"sim_errors"`
	// CertExpiry is when the managed (ACME) certificate expires; zero
	// without one.
	CertExpiry time.Time `json:"cert_expiry,omitzero"`
	// DiskFree is the free bytes of the data dir's file system; 0 unknown.
	DiskFree uint64 `json:"disk_free"`
	// Backup is nil when no scheduled backups are configured.
	Backup *BackupFacts `json:"backup,omitempty"`
	// State is the alert state this member holds when it is newer than
	// the one the evaluator pushed (Alerter.Exchange); nil otherwise.
	State *State `json:"alert_state,omitempty"`
}

// BackupFacts are one member's scheduled backups.
type BackupFacts struct {
	Interval time.Duration `json:"interval"`
	// LastOK is when a tick last found every target current (zero: none
	// since the member started).
	LastOK time.Time `json:"last_ok,omitzero"`
}

// Member is one member of the Raft configuration as the evaluator saw it.
type Member struct {
	ID    string
	Voter bool
	// Up is true when the member answered (the evaluator itself always
	// does); Facts is nil when it did not, or is of a version without them.
	Up    bool
	Facts *Facts
}

// Cluster is one observation, taken by the evaluating node.
type Cluster struct {
	At      time.Time
	Self    string
	Leader  string // the leader the evaluator knows, "" for none
	Members []Member
}

// Rule is one of deploy/alerts.yml's rules, evaluated in the node. Name,
// For and Severity are the file's (a test compares them).
type Rule struct {
	Name     string
	Severity string
	For      time.Duration
	eval     func(*history, Cluster) []finding
}

// finding is a rule's verdict on one alert (node "" for one about the
// whole cluster). A rule says nothing about what it cannot know (a member
// that did not answer, a rate without samples yet): such an alert keeps
// its state instead of resolving.
type finding struct {
	node    string
	active  bool
	value   float64
	summary string
}

// Rules are the in-node twins of deploy/alerts.yml, with the same names,
// conditions and hold times.
func Rules() []Rule {
	return []Rule{
		{"MinitwitNodeDown", "warning", 2 * time.Minute, nodeDown},
		{"MinitwitNoLeader", "critical", time.Minute, noLeader},
		{"MinitwitQuorumAtRisk", "critical", 5 * time.Minute, quorumAtRisk},
		{"MinitwitSimulatorErrors", "warning", 10 * time.Minute, simulatorErrors},
		{"MinitwitBackupMissing", "warning", 10 * time.Minute, backupMissing},
		{"MinitwitCertificateExpiring", "warning", time.Hour, certificateExpiring},
		{"MinitwitRaftApplyLag", "warning", 5 * time.Minute, raftApplyLag},
		{"MinitwitDiskFilling", "warning", 30 * time.Minute, diskFilling},
	}
}

// up{job="minitwit"} == 0: a member that does not answer.
func nodeDown(_ *history, c Cluster) []finding {
	var out []finding
	for _, m := range c.Members {
		out = append(out, finding{node: m.ID, active: !m.Up,
			summary: fmt.Sprintf("MiniTwit node %s does not answer the leader", m.ID)})
	}
	return out
}

// sum(minitwit_raft_is_leader) == 0: no answering member knows a leader.
// Only a node that knows no leader evaluates while there is none (Alerter).
func noLeader(_ *history, c Cluster) []finding {
	active := c.Leader == ""
	for _, m := range c.Members {
		if m.Facts != nil && m.Facts.Leader != "" {
			active = false
		}
	}
	return []finding{{active: active, summary: "The MiniTwit cluster has no Raft leader"}}
}

// Answering members are no more than a quorum of a cluster of 3 or more
// voters: one more failure stops all writes.
func quorumAtRisk(_ *history, c Cluster) []finding {
	up, voters := 0, 0
	for _, m := range c.Members {
		if m.Up {
			up++
		}
		if m.Voter {
			voters++
		}
	}
	return []finding{{active: voters >= 3 && up <= voters/2+1, value: float64(up),
		summary: fmt.Sprintf("MiniTwit tolerates no further node failure: %d members answer, %d voters", up, voters)}}
}

// More than 1% of the simulator's requests failed over simWindow, summed
// over the members; unknown until some member has two samples.
func simulatorErrors(h *history, c Cluster) []finding {
	reqs, errs, known := h.simIncrease(c.At)
	if !known {
		return nil
	}
	if reqs == 0 {
		return []finding{{summary: "no simulator requests"}} // 0/0: not an alert, as in PromQL
	}
	ratio := errs / reqs
	return []finding{{active: ratio > 0.01, value: ratio,
		summary: fmt.Sprintf("%.1f%% of the simulator's requests fail", 100*ratio)}}
}

// No tick found every target current for twice the schedule, once the
// oldest answering member with backups has run that long. Unknown when no
// answering member has backups configured (the Prometheus rule has no
// series then either).
func backupMissing(_ *history, c Cluster) []finding {
	var lastOK, oldest time.Time
	var interval time.Duration
	any := false
	for _, m := range c.Members {
		if m.Facts == nil || m.Facts.Backup == nil {
			continue
		}
		b := m.Facts.Backup
		if !any || m.Facts.StartedAt.Before(oldest) {
			oldest = m.Facts.StartedAt
		}
		any = true
		if b.LastOK.After(lastOK) {
			lastOK = b.LastOK
		}
		interval = max(interval, b.Interval)
	}
	if !any {
		return nil
	}
	active := c.At.Sub(lastOK) > 2*interval && c.At.Sub(oldest) > 2*interval
	summary := "No successful MiniTwit backup for twice the backup interval (" + (2 * interval).String() + ")"
	return []finding{{active: active, summary: summary}}
}

// minitwit_tls_certificate_expiry_timestamp_seconds within 14 days.
func certificateExpiring(_ *history, c Cluster) []finding {
	var out []finding
	for _, m := range c.Members {
		if m.Facts == nil {
			continue
		}
		exp := m.Facts.CertExpiry
		left := exp.Sub(c.At)
		out = append(out, finding{node: m.ID, active: !exp.IsZero() && left < 14*24*time.Hour, value: left.Hours() / 24,
			summary: fmt.Sprintf("The certificate of %s expires within 14 days (%s)", m.ID, exp.UTC().Format(time.DateOnly))})
	}
	return out
}

// A member applies more than 1000 entries behind the newest commit index
// any answering member reports.
func raftApplyLag(_ *history, c Cluster) []finding {
	var commit uint64
	for _, m := range c.Members {
		if m.Facts != nil {
			commit = max(commit, m.Facts.CommitIndex)
		}
	}
	var out []finding
	for _, m := range c.Members {
		if m.Facts == nil {
			continue
		}
		lag := float64(commit) - float64(m.Facts.AppliedIndex)
		out = append(out, finding{node: m.ID, active: lag > 1000, value: lag,
			summary: fmt.Sprintf("%s is %.0f Raft entries behind", m.ID, lag)})
	}
	return out
}

// predict_linear(free[6h], 3d) < 0 with free > 0: at the growth of the
// last 6 hours the file system is full within 3 days. Unknown for a member
// whose samples span less than diskMinSpan.
func diskFilling(h *history, c Cluster) []finding {
	var out []finding
	for _, m := range c.Members {
		if m.Facts == nil {
			continue
		}
		pred, ok := h.predictFree(m.ID, c.At, diskHorizon)
		if !ok {
			continue
		}
		out = append(out, finding{node: m.ID, active: m.Facts.DiskFree > 0 && pred < 0, value: float64(m.Facts.DiskFree),
			summary: fmt.Sprintf("The disk of %s fills up within 3 days at this rate (%s free)", m.ID, humanBytes(m.Facts.DiskFree))})
	}
	return out
}

// Windows of the rules that look back, as in deploy/alerts.yml.
const (
	simWindow   = 5 * time.Minute
	diskWindow  = 6 * time.Hour
	diskHorizon = 3 * 24 * time.Hour
	// diskMinSpan: a line through samples minutes apart extrapolated to
	// three days is noise; Prometheus' 30 m hold guards against it, this
	// too.
	diskMinSpan = 30 * time.Minute
	// diskEvery keeps at most one free-space sample a minute (360 per
	// member over the window).
	diskEvery = diskWindow / 360
)

// history keeps what the rules that look back need: each member's
// simulator counters over simWindow and free bytes over diskWindow.
type history struct {
	sim  map[string][]simSample
	disk map[string][]diskSample
}

type simSample struct {
	at         time.Time
	started    time.Time
	reqs, errs uint64
}

type diskSample struct {
	at   time.Time
	free float64
}

func newHistory() *history {
	return &history{sim: map[string][]simSample{}, disk: map[string][]diskSample{}}
}

// record adds an observation and forgets what left the windows and the
// members that left the cluster.
func (h *history) record(c Cluster) {
	seen := map[string]bool{}
	for _, m := range c.Members {
		seen[m.ID] = true
		if m.Facts == nil {
			continue
		}
		f := m.Facts
		h.sim[m.ID] = append(trimSim(h.sim[m.ID], c.At.Add(-simWindow)), simSample{c.At, f.StartedAt, f.SimRequests, f.SimErrors})
		d := trimDisk(h.disk[m.ID], c.At.Add(-diskWindow))
		if f.DiskFree > 0 && (len(d) == 0 || c.At.Sub(d[len(d)-1].at) >= diskEvery) {
			d = append(d, diskSample{c.At, float64(f.DiskFree)})
		}
		h.disk[m.ID] = d
	}
	for id := range h.sim {
		if !seen[id] {
			delete(h.sim, id)
			delete(h.disk, id)
		}
	}
}

func trimSim(s []simSample, from time.Time) []simSample {
	i := 0
	for i < len(s) && s[i].at.Before(from) {
		i++
	}
	return append(s[:0], s[i:]...)
}

func trimDisk(s []diskSample, from time.Time) []diskSample {
	i := 0
	for i < len(s) && s[i].at.Before(from) {
		i++
	}
	return append(s[:0], s[i:]...)
}

// simIncrease sums the members' counter increases over the window, a
// restarted member's counters starting again from zero (like PromQL's
// increase). known is false until a member has two samples.
func (h *history) simIncrease(now time.Time) (reqs, errs float64, known bool) {
	for _, s := range h.sim {
		s = trimSim(append([]simSample(nil), s...), now.Add(-simWindow))
		for i := 1; i < len(s); i++ {
			known = true
			prev, cur := s[i-1], s[i]
			if !cur.started.Equal(prev.started) || cur.reqs < prev.reqs || cur.errs < prev.errs {
				reqs += float64(cur.reqs)
				errs += float64(cur.errs)
				continue
			}
			reqs += float64(cur.reqs - prev.reqs)
			errs += float64(cur.errs - prev.errs)
		}
	}
	return reqs, errs, known
}

// predictFree is predict_linear: the least-squares line through the
// member's free-space samples, read horizon after now.
func (h *history) predictFree(id string, now time.Time, horizon time.Duration) (float64, bool) {
	s := h.disk[id]
	if len(s) < 2 || s[len(s)-1].at.Sub(s[0].at) < diskMinSpan {
		return 0, false
	}
	var sx, sy, sxx, sxy float64
	for _, p := range s {
		x := p.at.Sub(now).Seconds()
		sx += x
		sy += p.free
		sxx += x * x
		sxy += x * p.free
	}
	n := float64(len(s))
	den := n*sxx - sx*sx
	if den == 0 || math.IsNaN(den) {
		return 0, false
	}
	slope := (n*sxy - sx*sy) / den
	intercept := (sy - slope*sx) / n // the line's value at now
	return intercept + slope*horizon.Seconds(), true
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
