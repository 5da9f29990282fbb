package node

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/node/config"
	"minitwit/ops"
	"minitwit/ops/alerting"
)

// In-node alerting (ops/alerting): every node runs an Alerter; the leader
// evaluates deploy/alerts.yml's conditions every alerts.interval from the
// facts each member reports over the cluster RPC, and posts notices to
// alerts.webhook_url. The facts request carries the evaluator's state, so
// every member holds the newest one, and the answer carries the member's
// when it is newer, so a new leader carries on from the newest any member
// holds.

const (
	// alertFactsTimeout bounds the wait for one member; one that does
	// not answer in time counts as down for this evaluation.
	alertFactsTimeout = 2 * time.Second
)

// startAlerts runs the node's Alerter.
func (n *Node) startAlerts(ctx context.Context, hold time.Duration) {
	a := &alerting.Alerter{
		Self:     n.nodeID,
		Interval: time.Duration(n.cfg.Alerts.Interval),
		Hold:     hold,
		Leading:  func() bool { return n.raft.State() == raft.Leader },
		KnowsLeader: func() bool {
			_, id := n.raft.LeaderWithID()
			return id != ""
		},
		Observe: n.observeForAlerts,
		Log:     n.log.With("component", "alerts"),
	}
	failures := n.metrics.Counter(`minitwit_alert_webhook_failures_total`)
	dropped := n.metrics.Counter(`minitwit_alert_notices_dropped_total`)
	if c := n.cfg.Alerts; c.WebhookURL != "" {
		a.Webhook = &alerting.Webhook{URL: c.WebhookURL, Format: c.WebhookFormat, Token: c.WebhookToken,
			Failed: failures.Inc, Dropped: dropped.Inc, Log: a.Log}
	}
	n.metrics.Gauge(`minitwit_alerts_firing`, func() float64 { return float64(a.Firing()) })
	n.alerter = a
	n.bg.Go(func() { a.Run(ctx) })
}

// Alerts is the alerts' state as this node holds it: its own while it
// evaluates, else the last one the evaluator handed over.
func (n *Node) Alerts() alerting.State {
	if n.alerter == nil {
		return alerting.State{}
	}
	return n.alerter.State()
}

// alertFacts is this node's report to the evaluator.
func (n *Node) alertFacts() alerting.Facts {
	_, leader := n.raft.LeaderWithID()
	totals := n.metrics.Totals()
	f := alerting.Facts{ID: n.nodeID, StartedAt: n.started, Leader: string(leader),
		CommitIndex: n.raft.CommitIndex(), AppliedIndex: n.fsm.AppliedIndex(),
		SimRequests: totals.SimRequests, SimErrors: totals.SimErrors}
	// As minitwit_tls_certificate_expiry_timestamp_seconds: managed
	// certificates only (a self-signed one is renewed by no one).
	if n.cfg.TLSMode() == config.TLSACME {
		f.CertExpiry = n.CertificateExpiry()
	}
	f.DiskFree, _ = ops.DiskFree(n.cfg.DataDir)
	if n.backups != nil {
		f.Backup = &alerting.BackupFacts{Interval: n.backups.Interval, LastOK: n.backups.Status().LastOK}
	}
	return f
}

// observeForAlerts asks every member for its facts in parallel, handing
// each the evaluator's state when push is set. A member that answers at
// all is up; one too old to know the request is up without facts.
func (n *Node) observeForAlerts(ctx context.Context, push *alerting.State) alerting.Cluster {
	_, leader := n.raft.LeaderWithID()
	c := alerting.Cluster{Self: n.nodeID, Leader: string(leader)}
	members := n.memberList()
	c.Members = make([]alerting.Member, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		c.Members[i] = alerting.Member{ID: m.ID, Voter: m.Voter}
		if m.ID == n.nodeID {
			f := n.alertFacts()
			c.Members[i].Up, c.Members[i].Facts = true, &f
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, alertFactsTimeout)
			defer cancel()
			c.Members[i].Facts, c.Members[i].Up = n.cluster.Client().AlertFacts(cctx, m.Address, push)
		})
	}
	wg.Wait()
	c.At = time.Now()
	return c
}

// AlertFacts keeps the evaluator's state the leader pushed, if any and
// not older than the one this node holds, and returns this node's facts
// (the cluster RPC's alert facts), with the state it holds when that is
// newer than the one pushed.
func (n *Node) AlertFacts(push *alerting.State) alerting.Facts {
	var held *alerting.State
	if n.alerter != nil {
		held = n.alerter.Exchange(push)
	}
	f := n.alertFacts()
	f.State = held
	return f
}
