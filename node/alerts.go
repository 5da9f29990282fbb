package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
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
// every member holds the last one and a new leader carries on from it.

const (
	rpcAlertFacts = "/alerts/facts"
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
	var body []byte
	if push != nil {
		body, _ = json.Marshal(push) // plain data: cannot fail
	}
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
			resp, err := rpcSend(cctx, n.rpc, http.MethodPost, m.Address, rpcAlertFacts, bytes.NewReader(body))
			var re *rpcError
			if errors.As(err, &re) {
				c.Members[i].Up = true // it answered: an older version, or starting
				return
			}
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var f alerting.Facts
			if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&f) == nil {
				c.Members[i].Facts = &f
			}
			c.Members[i].Up = true
		})
	}
	wg.Wait()
	c.At = time.Now()
	return c
}

// rpcServeAlertFacts keeps the evaluator's state, if the request carries
// one, and answers with this node's facts.
func (n *Node) rpcServeAlertFacts(w http.ResponseWriter, r *http.Request) {
	if !n.up.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRPCBody))
	if err != nil {
		http.Error(w, "bad alert state: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > 0 {
		var s alerting.State
		if err := json.Unmarshal(body, &s); err != nil {
			http.Error(w, "bad alert state: "+err.Error(), http.StatusBadRequest)
			return
		}
		n.alerter.Adopt(s)
	}
	json.NewEncoder(w).Encode(n.alertFacts())
}
