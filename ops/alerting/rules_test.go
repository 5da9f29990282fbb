package alerting

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRulesMatchDeployAlerts: the in-node rules are deploy/alerts.yml's,
// by name, hold time and severity, and none is missing on either side.
func TestRulesMatchDeployAlerts(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../deploy/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type rule struct{ forText, severity string }
	file := map[string]*rule{}
	var cur *rule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "- alert: "):
			cur = &rule{}
			file[strings.TrimPrefix(line, "- alert: ")] = cur
		case cur != nil && strings.HasPrefix(line, "for: "):
			cur.forText = strings.TrimPrefix(line, "for: ")
		case cur != nil && strings.HasPrefix(line, "severity: "):
			cur.severity = strings.TrimPrefix(line, "severity: ")
		}
	}
	if len(file) == 0 {
		t.Fatal("no rule found in deploy/alerts.yml")
	}
	for _, r := range Rules() {
		fr, ok := file[r.Name]
		if !ok {
			t.Errorf("%s is not in deploy/alerts.yml", r.Name)
			continue
		}
		delete(file, r.Name)
		d, err := time.ParseDuration(fr.forText)
		if err != nil || d != r.For {
			t.Errorf("%s: for %q in deploy/alerts.yml, %s in the node", r.Name, fr.forText, r.For)
		}
		if fr.severity != r.Severity {
			t.Errorf("%s: severity %q in deploy/alerts.yml, %q in the node", r.Name, fr.severity, r.Severity)
		}
	}
	for name := range file {
		t.Errorf("deploy/alerts.yml has %s, the node does not", name)
	}
}

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// cluster3 is a healthy 3-voter cluster led by node1 at time at.
func cluster3(at time.Time) Cluster {
	c := Cluster{At: at, Self: "node1", Leader: "node1"}
	for _, id := range []string{"node1", "node2", "node3"} {
		c.Members = append(c.Members, Member{ID: id, Voter: true, Up: true,
			Facts: &Facts{ID: id, StartedAt: t0.Add(-time.Hour), Leader: "node1", CommitIndex: 100, AppliedIndex: 100, DiskFree: 50 << 30}})
	}
	return c
}

func down(c Cluster, id string) Cluster {
	for i := range c.Members {
		if c.Members[i].ID == id {
			c.Members[i].Up, c.Members[i].Facts = false, nil
		}
	}
	return c
}

func findings(t *testing.T, name string, h *history, c Cluster) map[string]finding {
	t.Helper()
	for _, r := range Rules() {
		if r.Name == name {
			out := map[string]finding{}
			for _, f := range r.eval(h, c) {
				out[f.node] = f
			}
			return out
		}
	}
	t.Fatalf("no rule %s", name)
	return nil
}

func TestNodeDownAndQuorumAtRisk(t *testing.T) {
	t.Parallel()
	c := cluster3(t0)
	if f := findings(t, "MinitwitNodeDown", newHistory(), c); f["node3"].active || len(f) != 3 {
		t.Errorf("healthy cluster: %+v", f)
	}
	if f := findings(t, "MinitwitQuorumAtRisk", newHistory(), c); f[""].active {
		t.Errorf("healthy cluster at risk: %+v", f)
	}
	c = down(c, "node3")
	if f := findings(t, "MinitwitNodeDown", newHistory(), c); !f["node3"].active || f["node2"].active {
		t.Errorf("node3 down: %+v", f)
	}
	if f := findings(t, "MinitwitQuorumAtRisk", newHistory(), c); !f[""].active {
		t.Errorf("2 of 3 up is not at risk: %+v", f)
	}
	// One voter: never "at risk" (it tolerates no failure by design).
	one := Cluster{At: t0, Self: "a", Leader: "a", Members: []Member{{ID: "a", Voter: true, Up: true, Facts: &Facts{}}}}
	if f := findings(t, "MinitwitQuorumAtRisk", newHistory(), one); f[""].active {
		t.Errorf("a single voter is at risk: %+v", f)
	}
}

func TestNoLeader(t *testing.T) {
	t.Parallel()
	c := cluster3(t0)
	if findings(t, "MinitwitNoLeader", newHistory(), c)[""].active {
		t.Error("no leader with a leader")
	}
	c.Leader = ""
	for _, m := range c.Members {
		m.Facts.Leader = ""
	}
	if !findings(t, "MinitwitNoLeader", newHistory(), c)[""].active {
		t.Error("no alert without a leader")
	}
	// The evaluator knows none but a member does: not "no leader".
	c.Members[2].Facts.Leader = "node3"
	if findings(t, "MinitwitNoLeader", newHistory(), c)[""].active {
		t.Error("no leader although a member knows one")
	}
}

func TestSimulatorErrorsOverTheWindow(t *testing.T) {
	t.Parallel()
	h := newHistory()
	at := t0
	step := func(reqs, errs uint64) map[string]finding {
		c := cluster3(at)
		c.Members[1].Facts.SimRequests, c.Members[1].Facts.SimErrors = reqs, errs
		h.record(c)
		f := findings(t, "MinitwitSimulatorErrors", h, c)
		at = at.Add(time.Minute)
		return f
	}
	if f := step(1000, 0); len(f) != 0 {
		t.Errorf("one sample is known: %+v", f)
	}
	if f := step(2000, 5); f[""].active { // 0.5%
		t.Errorf("0.5%% fires: %+v", f)
	}
	if f := step(3000, 25); !f[""].active { // 25 of 2000 in the window: 1.25%
		t.Errorf("1.25%% does not fire: %+v", f)
	}
	// The node restarts: its counters start again; 2 of 100 fail.
	c := cluster3(at)
	c.Members[1].Facts.StartedAt = at
	c.Members[1].Facts.SimRequests, c.Members[1].Facts.SimErrors = 100, 2
	h.record(c)
	if f := findings(t, "MinitwitSimulatorErrors", h, c); !f[""].active {
		t.Errorf("after a restart: %+v", f)
	}
	// Six minutes later the errors left the window.
	at = at.Add(6 * time.Minute)
	if f := step(100, 2); len(f) != 0 {
		t.Errorf("a single sample in the window is known: %+v", f)
	}
	if f := step(5000, 2); f[""].active {
		t.Errorf("old errors still count: %+v", f)
	}
}

func TestBackupMissing(t *testing.T) {
	t.Parallel()
	c := cluster3(t0)
	if f := findings(t, "MinitwitBackupMissing", newHistory(), c); len(f) != 0 {
		t.Errorf("without backups configured: %+v", f)
	}
	for _, m := range c.Members {
		m.Facts.Backup = &BackupFacts{Interval: 10 * time.Minute}
	}
	// Up an hour, never a good tick: fires.
	if f := findings(t, "MinitwitBackupMissing", newHistory(), c); !f[""].active {
		t.Errorf("no backup in an hour: %+v", f)
	}
	// A follower that led before holds the last good tick, 15 min ago.
	c.Members[2].Facts.Backup.LastOK = t0.Add(-15 * time.Minute)
	if f := findings(t, "MinitwitBackupMissing", newHistory(), c); f[""].active {
		t.Errorf("a backup 15 min ago with a 10 min schedule: %+v", f)
	}
	// A fresh cluster has not run twice the schedule yet.
	c = cluster3(t0)
	for _, m := range c.Members {
		m.Facts.StartedAt = t0.Add(-5 * time.Minute)
		m.Facts.Backup = &BackupFacts{Interval: 10 * time.Minute}
	}
	if f := findings(t, "MinitwitBackupMissing", newHistory(), c); f[""].active {
		t.Errorf("fresh cluster: %+v", f)
	}
}

func TestCertificateExpiringAndApplyLag(t *testing.T) {
	t.Parallel()
	c := cluster3(t0)
	c.Members[0].Facts.CertExpiry = t0.Add(60 * 24 * time.Hour)
	c.Members[1].Facts.CertExpiry = t0.Add(10 * 24 * time.Hour)
	f := findings(t, "MinitwitCertificateExpiring", newHistory(), c)
	if f["node1"].active || !f["node2"].active || f["node3"].active {
		t.Errorf("certificates: %+v", f)
	}
	c.Members[0].Facts.CommitIndex = 5000
	c.Members[2].Facts.AppliedIndex = 3000
	f = findings(t, "MinitwitRaftApplyLag", newHistory(), c)
	if !f["node2"].active || !f["node3"].active || f["node3"].value != 2000 {
		t.Errorf("lag: %+v", f)
	}
	c.Members[1].Facts.AppliedIndex, c.Members[2].Facts.AppliedIndex = 4500, 4500
	if f = findings(t, "MinitwitRaftApplyLag", newHistory(), c); f["node2"].active || f["node3"].active {
		t.Errorf("500 behind fires: %+v", f)
	}
}

func TestDiskFillingPredictsLinearly(t *testing.T) {
	t.Parallel()
	h := newHistory()
	var f map[string]finding
	// node2 loses 1 GiB an hour with 50 GiB free (full in ~2 days);
	// node3 loses 100 MiB an hour (full in weeks).
	for i := range 61 {
		at := t0.Add(time.Duration(i) * time.Minute)
		c := cluster3(at)
		c.Members[1].Facts.DiskFree = uint64(50<<30 - int64(i)*(1<<30)/60)
		c.Members[2].Facts.DiskFree = uint64(50<<30 - int64(i)*(100<<20)/60)
		h.record(c)
		f = findings(t, "MinitwitDiskFilling", h, c)
		if i < 30 && len(f) != 0 {
			t.Fatalf("known after %d min: %+v", i, f)
		}
	}
	if f["node1"].active || !f["node2"].active || f["node3"].active {
		t.Errorf("disk: %+v", f)
	}
	if len(h.disk["node2"]) > 61 {
		t.Errorf("%d samples kept", len(h.disk["node2"]))
	}
}
