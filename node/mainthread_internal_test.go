package node

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/ops/testwait"
)

type nopFSM struct{}

func (nopFSM) Apply(*raft.Log) any                 { return nil }
func (nopFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, io.EOF }
func (nopFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

// TestLeaderAppendsOnlyInTermsItWon is the regression test for the replica
// divergence the leader-pause e2e test saw (mainthread.go): a leader that
// takes writes while a heartbeat from a newer term arrives must never stamp
// one of its own entries with that term. A single voter is deposed, over
// and over, by a forged heartbeat from a newer term while writers keep its
// leader loop busy, and elects itself again each time; afterwards no
// command entry in its log may carry a term it did not win. With
// hashicorp/raft's heartbeat fast path (the bare transport passed to
// NewRaft) it failed in each of three runs, on a loaded machine, within the
// 25 rounds.
func TestLeaderAppendsOnlyInTermsItWon(t *testing.T) {
	trans, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, 5*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ghost, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, 5*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer ghost.Close()

	conf := raft.DefaultConfig()
	conf.LocalID = "solo"
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.LogOutput = io.Discard
	logs := raft.NewInmemStore()
	snaps := raft.NewInmemSnapshotStore()
	if err := raft.BootstrapCluster(conf, logs, logs, snaps, trans, raft.Configuration{Servers: []raft.Server{
		{ID: conf.LocalID, Address: trans.LocalAddr()},
	}}); err != nil {
		t.Fatal(err)
	}
	r, err := raft.NewRaft(conf, nopFSM{}, logs, logs, snaps, mainThreadTransport{trans})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Shutdown().Error(); err != nil {
			t.Error(err)
		}
		trans.Close()
	}()

	// Writers keep the leader loop dispatching entries; they stop with ctx.
	ctx, stop := context.WithCancel(context.Background())
	var writers sync.WaitGroup
	for range 4 {
		writers.Go(func() {
			for ctx.Err() == nil {
				_ = r.Apply([]byte("w"), 50*time.Millisecond).Error() // refused while not leading: fine
			}
		})
	}
	defer func() { stop(); writers.Wait() }()

	forged := map[uint64]bool{}
	const rounds = 25
	for range rounds {
		testwait.Until(t, "the node leads again", func() bool { return r.State() == raft.Leader })
		term := r.CurrentTerm() + 1
		forged[term] = true
		req := raft.AppendEntriesRequest{
			RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("ghost"), Addr: ghost.EncodePeer("ghost", ghost.LocalAddr())},
			Term:      term,
		}
		var resp raft.AppendEntriesResponse
		if err := ghost.AppendEntries("solo", trans.LocalAddr(), &req, &resp); err != nil {
			t.Fatalf("forged heartbeat: %v", err)
		}
		testwait.Until(t, "the node takes the forged term", func() bool { return r.CurrentTerm() >= term })
	}
	stop()
	writers.Wait()

	first, _ := logs.FirstIndex()
	last, _ := logs.LastIndex()
	commands := 0
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			t.Fatal(err)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		commands++
		if forged[l.Term] {
			t.Fatalf("entry %d was appended by this node in term %d, which it never won (a forged heartbeat's term)", i, l.Term)
		}
	}
	if commands == 0 {
		t.Fatal("no write was appended: the test exercised nothing")
	}
	t.Logf("%d rounds, %d command entries checked", rounds, commands)
}
