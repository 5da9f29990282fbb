package node

import (
	"bytes"
	"context"
	"errors"
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
	tr := newMainThreadTransport(trans)
	r, err := raft.NewRaft(conf, nopFSM{}, logs, logs, snaps, tr)
	if err != nil {
		t.Fatal(err)
	}
	tr.attach(r)
	defer func() {
		if err := r.Shutdown().Error(); err != nil {
			t.Error(err)
		}
		tr.Close()
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

// blockedRestoreFSM holds Raft's main goroutine in a snapshot install (a
// follower's main goroutine waits for the FSM's Restore) until released.
type blockedRestoreFSM struct {
	nopFSM
	restoring chan struct{}
	release   chan struct{}
}

func (f blockedRestoreFSM) Restore(rc io.ReadCloser) error {
	close(f.restoring)
	<-f.release
	return rc.Close()
}

// TestFollowerAnswersHeartbeatsWhileInstallingASnapshot: a follower whose
// main goroutine is busy installing a snapshot still answers its leader's
// heartbeats. With every heartbeat sent to the main goroutine (this
// transport's first version) they waited for the install, and a leader
// whose two followers installed a cluster restore at once lost its lease:
// `restore --cluster` failed with "leadership moved" under load.
func TestFollowerAnswersHeartbeatsWhileInstallingASnapshot(t *testing.T) {
	trans, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, 5*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := raft.NewTCPTransport("127.0.0.1:0", nil, 3, 5*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	conf := raft.DefaultConfig()
	conf.LocalID = "follower"
	conf.LogOutput = io.Discard
	fsm := blockedRestoreFSM{restoring: make(chan struct{}), release: make(chan struct{})}
	logs := raft.NewInmemStore()
	tr := newMainThreadTransport(trans)
	r, err := raft.NewRaft(conf, fsm, logs, logs, raft.NewInmemSnapshotStore(), tr)
	if err != nil {
		t.Fatal(err)
	}
	tr.attach(r)
	released := false
	defer func() {
		if !released {
			close(fsm.release)
		}
		leader.Close() // first: the follower may be asking it for votes
		if err := r.Shutdown().Error(); err != nil {
			t.Error(err)
		}
		tr.Close()
	}()

	header := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("leader"), Addr: leader.EncodePeer("leader", leader.LocalAddr())}
	snapshot := []byte("state")
	install := raft.InstallSnapshotRequest{
		RPCHeader: header, SnapshotVersion: raft.SnapshotVersionMax, Term: 1,
		LastLogIndex: 10, LastLogTerm: 1, ConfigurationIndex: 1, Size: int64(len(snapshot)),
		Configuration: raft.EncodeConfiguration(raft.Configuration{Servers: []raft.Server{
			{ID: "leader", Address: leader.LocalAddr()}, {ID: "follower", Address: trans.LocalAddr()},
		}}),
	}
	installed := make(chan error, 1)
	go func() {
		var resp raft.InstallSnapshotResponse
		err := leader.InstallSnapshot("follower", trans.LocalAddr(), &install, &resp, bytes.NewReader(snapshot))
		if err == nil && !resp.Success {
			err = errors.New("install refused")
		}
		installed <- err
	}()
	<-fsm.restoring // the follower's main goroutine now waits for Restore

	heartbeat := raft.AppendEntriesRequest{RPCHeader: header, Term: 1}
	var resp raft.AppendEntriesResponse
	if err := leader.AppendEntries("follower", trans.LocalAddr(), &heartbeat, &resp); err != nil {
		t.Fatalf("heartbeat during the install: %v (it waited for the main goroutine)", err)
	}
	if !resp.Success || resp.Term != 1 {
		t.Fatalf("heartbeat during the install: %+v, want success in term 1", resp)
	}
	close(fsm.release)
	released = true
	if err := <-installed; err != nil {
		t.Fatalf("install: %v", err)
	}
}
