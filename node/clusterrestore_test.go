package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/backup"
	"minitwit/ops/testwait"
	"minitwit/store"
)

// TestRestoreRunningCluster: a backup restored into a running cluster
// becomes every member's state (what was written after the backup is gone),
// the cluster keeps its identity (join token, members), writes go on, and
// a damaged backup is refused without touching anything.
func TestRestoreRunningCluster(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nodes, file := clusterWithABackup(ctx, t)
	leader, _ := leaderOf(t, nodes)
	var token []byte
	leader.LocalStore().View(func(r *store.ReadTx) error { token = r.Secrets().JoinToken; return nil })

	damaged := bytes.Clone(file)
	damaged[len(damaged)/2] ^= 1
	before := digest(t, leader)
	if _, err := leader.RestoreCluster(ctx, bytes.NewReader(damaged)); !errors.Is(err, backup.ErrCorrupt) {
		t.Fatalf("a damaged backup: %v", err)
	}
	if digest(t, leader) != before {
		t.Fatal("a refused restore changed the state")
	}

	// Under the race detector on a loaded machine, an election can happen
	// mid-restore; an operator runs it again, and so does the test
	// (restoring twice gives the same state).
	for attempt := 1; ; attempt++ {
		_, err := leader.RestoreCluster(ctx, bytes.NewReader(file))
		if err == nil {
			break
		}
		if attempt == 3 || !errors.Is(err, node.ErrUnavailable) {
			t.Fatal(err)
		}
		t.Logf("restore attempt %d: %v", attempt, err)
		leader, _ = leaderOf(t, nodes)
	}
	waitSame(t, nodes)
	for _, n := range nodes {
		if !nodetest.ReadUser(t, n, "before the backup") || nodetest.ReadUser(t, n, "after the backup") {
			t.Fatalf("%s does not hold the backed-up state", n.ID())
		}
		n.LocalStore().View(func(r *store.ReadTx) error {
			if !bytes.Equal(r.Secrets().JoinToken, token) {
				t.Errorf("%s: the join token changed with the restore", n.ID())
			}
			return nil
		})
	}
	register(t, nodes[1], "after the restore")
	for _, n := range nodes {
		if !nodetest.ReadUser(t, n, "after the restore") {
			t.Fatalf("a write after the restore is missing on %s", n.ID())
		}
	}
	if len(nodes[0].Members()) != 3 {
		t.Fatalf("members after the restore: %v", nodes[0].Members())
	}
	// A member restarted after the restore comes back with that state.
	cfg := nodes[2].ConfigForTest()
	closeNode(t, nodes[2])
	back := nodetest.Start(t, web, cfg)
	if !nodetest.ReadUser(t, back, "after the restore") || nodetest.ReadUser(t, back, "after the backup") {
		t.Fatal("a member restarted after the restore lost it")
	}
	waitSame(t, []*node.Node{nodes[0], nodes[1], back})
}

// TestClusterRestoreFollowsTheLeader: the cluster client (`minitwit restore
// --cluster`) sends the backup again, to the leader of the moment, when
// the member it found leading no longer leads once the backup reaches it
// (on a busy machine leadership moves, during a restore too), and the
// cluster ends with the backup's state.
func TestClusterRestoreFollowsTheLeader(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*testwait.Timeout)
	defer cancel()
	nodes, file := clusterWithABackup(ctx, t)
	c, err := node.NewClusterClient(nodes[1].DataDir())
	if err != nil {
		t.Fatal(err)
	}
	opens := 0
	open := func() (io.ReadCloser, error) {
		opens++
		if opens == 1 {
			// The client has just found the leader: leadership moves
			// before the backup reaches it.
			leader, _ := leaderOf(t, nodes)
			testwait.UntilNil(t, "leadership to move", func() error {
				if leader.Status().Role != "leader" {
					return nil
				}
				if _, err := c.Transfer(ctx, leader.RaftAddr(), ""); err != nil {
					return err
				}
				return errors.New("transferred; waiting for the old leader to step down")
			})
		}
		return io.NopCloser(bytes.NewReader(file)), nil
	}
	if err := c.RestoreCluster(ctx, nodes[1].RaftAddr(), open); err != nil {
		t.Fatal(err)
	}
	if opens < 2 {
		t.Fatalf("the backup was sent %d time(s); want it sent again to the new leader", opens)
	}
	waitSame(t, nodes)
	for _, n := range nodes {
		if !nodetest.ReadUser(t, n, "before the backup") || nodetest.ReadUser(t, n, "after the backup") {
			t.Fatalf("%s does not hold the backed-up state", n.ID())
		}
	}
}

// clusterWithABackup starts a 3-node cluster, registers "before the
// backup", takes a backup through node2 and then registers "after the
// backup": a restore of the file must bring back the first user only.
func clusterWithABackup(ctx context.Context, t *testing.T) ([]*node.Node, []byte) {
	t.Helper()
	nodes := nodetest.StartCluster(t, web, 3)
	register(t, nodes[0], "before the backup")
	var buf bytes.Buffer
	if _, err := nodes[1].Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	register(t, nodes[2], "after the backup")
	return nodes, buf.Bytes()
}
