package node

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/ops"
	"minitwit/store"
)

// registerMetrics adds the node's Raft and store figures to /metrics, all
// computed at scrape time except the latencies and the leader changes.
// Names follow the course's convention; labels stay bounded.
//
//	minitwit_raft_state                  0 follower, 1 candidate, 2 leader, 3 shutdown
//	minitwit_raft_is_leader              1 on the leader
//	minitwit_raft_term, minitwit_raft_last_index, minitwit_raft_commit_index,
//	minitwit_raft_applied_index, minitwit_raft_last_snapshot_index
//	minitwit_raft_leader_changes_total   leaders this node has seen take over
//	minitwit_raft_apply_duration_seconds     proposal to applied, on the leader
//	minitwit_raft_forward_duration_seconds   a follower's forwarded write, round trip
//	minitwit_store_apply_duration_seconds    one batch's bbolt transaction
//	minitwit_users, minitwit_messages, minitwit_follows, minitwit_flagged_messages,
//	minitwit_followers_per_user, minitwit_data_file_bytes, minitwit_data_dir_free_bytes
//	minitwit_raft_voters                 voters in the configuration this node has
func (n *Node) registerMetrics() {
	m := n.metrics
	m.Gauge(`minitwit_raft_state`, func() float64 {
		switch n.raft.State() {
		case raft.Follower:
			return 0
		case raft.Candidate:
			return 1
		case raft.Leader:
			return 2
		}
		return 3
	})
	m.Gauge(`minitwit_raft_is_leader`, func() float64 {
		if n.raft.State() == raft.Leader {
			return 1
		}
		return 0
	})
	stat := func(key string) func() float64 {
		return func() float64 {
			v, _ := strconv.ParseFloat(n.raft.Stats()[key], 64)
			return v
		}
	}
	m.Gauge(`minitwit_raft_term`, stat("term"))
	m.Gauge(`minitwit_raft_last_index`, stat("last_log_index"))
	m.Gauge(`minitwit_raft_last_snapshot_index`, stat("last_snapshot_index"))
	m.Gauge(`minitwit_raft_commit_index`, func() float64 { return float64(n.raft.CommitIndex()) })
	m.Gauge(`minitwit_raft_applied_index`, func() float64 { return float64(n.fsm.AppliedIndex()) })

	counts := func(get func(store.Counts) float64) func() float64 {
		return func() float64 {
			var c store.Counts
			if err := n.store.View(func(r *store.ReadTx) error { c = r.Counts(); return nil }); err != nil {
				return math.NaN() // unknown, rather than a zero that looks like data
			}
			return get(c)
		}
	}
	m.Gauge(`minitwit_users`, counts(func(c store.Counts) float64 { return float64(c.Users) }))
	m.Gauge(`minitwit_messages`, counts(func(c store.Counts) float64 { return float64(c.Messages) }))
	m.Gauge(`minitwit_follows`, counts(func(c store.Counts) float64 { return float64(c.Follows) }))
	m.Gauge(`minitwit_flagged_messages`, counts(func(c store.Counts) float64 { return float64(c.Flagged) }))
	m.Gauge(`minitwit_followers_per_user`, counts(func(c store.Counts) float64 {
		if c.Users == 0 {
			return 0
		}
		return float64(c.Follows) / float64(c.Users)
	}))
	m.Gauge(`minitwit_data_file_bytes`, func() float64 {
		fi, err := os.Stat(filepath.Join(n.cfg.DataDir, storeFile))
		if err != nil {
			return 0
		}
		return float64(fi.Size())
	})
	m.Gauge(`minitwit_data_dir_free_bytes`, func() float64 {
		free, _ := ops.DiskFree(n.cfg.DataDir)
		return float64(free)
	})
	m.Gauge(`minitwit_raft_voters`, func() float64 {
		f := n.raft.GetConfiguration()
		if f.Error() != nil {
			return 0
		}
		voters := 0
		for _, s := range f.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				voters++
			}
		}
		return float64(voters)
	})

	m.Counter(`minitwit_raft_leader_changes_total`)
}

// latencyMetrics creates the histograms the write path updates; it runs
// before Raft starts, so the FSM goroutine only ever reads OnApply.
func (n *Node) latencyMetrics() {
	applyTx := n.metrics.Histogram(`minitwit_store_apply_duration_seconds`)
	n.fsm.OnApply = func(_ int, d time.Duration) { applyTx.Update(d.Seconds()) }
	n.applyLatency = n.metrics.Histogram(`minitwit_raft_apply_duration_seconds`)
	n.forwardLatency = n.metrics.Histogram(`minitwit_raft_forward_duration_seconds`)
}

// watchLeaders counts leader changes seen by this node (Raft observations,
// not only this node's own leadership).
func (n *Node) watchLeaders(stop <-chan struct{}) {
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(obs)
	defer n.raft.DeregisterObserver(obs)
	changes := n.metrics.Counter(`minitwit_raft_leader_changes_total`)
	var last raft.ServerID
	for {
		select {
		case <-stop:
			return
		case o := <-ch:
			n.cluster.LeaderObserved() // forwarded requests in flight look again
			if lo := o.Data.(raft.LeaderObservation); lo.LeaderID != "" && lo.LeaderID != last {
				last = lo.LeaderID
				changes.Inc()
			}
		}
	}
}
