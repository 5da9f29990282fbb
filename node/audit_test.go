package node_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"minitwit/httpui/auth"
	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

// TestOperatorActionsAreAudited: operator actions over the internode
// port, made with node2's certificate (as `minitwit cluster|admin|backup`
// on node2's machine do) through different members, appear in every
// member's audit trail with the caller's node id and the member that
// served them; a refused change is there as refused; users' own writes
// and the member list are not; no line carries a secret.
func TestOperatorActionsAreAudited(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, web, 3)
	c := nodetest.ClusterClient(t, nodes[1])
	ctx, cancel := context.WithTimeout(context.Background(), 2*testwait.Timeout)
	defer cancel()
	testwait.UntilNil(t, "node2's members report with a leader", func() error {
		rep, err := c.Members(ctx, nodes[1].RaftAddr())
		if err != nil || len(rep.Members) != 3 || !rep.Ready {
			return fmt.Errorf("members: %+v %v", rep, err)
		}
		return nil
	})

	token, err := c.Token(ctx, nodes[2].RaftAddr())
	if err != nil {
		t.Fatal(err)
	}
	hash := auth.HashPassword("a new password for audit")
	p := c.Proposer(nodes[0].RaftAddr())
	for _, cmd := range []raftfsm.Command{
		&raftfsm.CreateAdmin{Username: "auditee", Email: "a@example.com", PasswordHash: hash, Temporary: true},
		&raftfsm.SetPassword{User: "auditee", Hash: hash},
		&raftfsm.SetAdmin{User: "nobody-here", Admin: true},
	} {
		if _, err := p.Propose(ctx, cmd); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	var taken bytes.Buffer
	if err := c.Backup(ctx, nodes[0].RaftAddr(), &taken); err != nil {
		t.Fatal(err)
	}
	// A user's own writes, through a member: not operator actions.
	if res, err := nodes[2].Propose(ctx, &raftfsm.EndSessions{User: "auditee"}); err != nil || res.Err != nil {
		t.Fatalf("sign-out: %v %v", err, res.Err)
	}
	if res, err := nodes[2].Propose(ctx, &raftfsm.SetPassword{User: "auditee", Hash: hash, Old: hash}); err != nil || res.Err != nil {
		t.Fatalf("own password change: %v %v", err, res.Err)
	}

	checkTrails(t, nodes, token, hash, []string{
		"node2 via node1: download backup  ok",
		"node2 via the leader: grant admin nobody-here refused: unknown_user",
		"node2 via the leader: reset password auditee ok",
		"node2 via the leader: create admin auditee ok",
		"node2 via node3: read join token  ok",
	})

	// A restore of that backup (whose trail ends before its own taking)
	// keeps the cluster's trail and adds itself.
	backupFile := taken.Bytes()
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(backupFile)), nil }
	if err := c.RestoreCluster(ctx, nodes[2].RaftAddr(), open); err != nil {
		t.Fatal(err)
	}
	checkTrails(t, nodes, token, hash, []string{
		"node2 via the leader: restore backup  ok",
		"node2 via node1: download backup  ok",
		"node2 via the leader: grant admin nobody-here refused: unknown_user",
		"node2 via the leader: reset password auditee ok",
		"node2 via the leader: create admin auditee ok",
		"node2 via node3: read join token  ok",
	})
}

// checkTrails waits until every node's audit trail reads want (lines of
// "caller via member: action target outcome", newest first, with the
// member that led named "the leader"), and finds no secret in it.
func checkTrails(t *testing.T, nodes []*node.Node, token, hash string, want []string) {
	t.Helper()
	for _, n := range nodes {
		testwait.UntilNil(t, n.ID()+"'s audit trail", func() error {
			var lines []string
			var raw string
			err := n.LocalStore().View(func(tx *store.ReadTx) error {
				for _, e := range tx.Audit(0, 100) {
					raw += fmt.Sprintf("%+v\n", e)
					if e.Time == 0 {
						return fmt.Errorf("entry %d has no time", e.Seq)
					}
					via := e.Via
					if !strings.Contains(e.Action, "download") && !strings.Contains(e.Action, "token") {
						// Forwarded writes are recorded by whichever
						// member led then (elections happen on a busy
						// machine).
						via = "the leader"
						if e.Via == "" {
							return fmt.Errorf("entry %d names no member", e.Seq)
						}
					}
					lines = append(lines, fmt.Sprintf("%s via %s: %s %s %s", e.Node, via, e.Action, e.Target, e.Outcome))
				}
				return nil
			})
			if err != nil {
				return err
			}
			got := strings.Join(lines, "\n")
			if got != strings.Join(want, "\n") {
				return fmt.Errorf("trail\n%s\nwant\n%s", got, strings.Join(want, "\n"))
			}
			if strings.Contains(raw, token) || strings.Contains(raw, hash) {
				t.Fatalf("a secret in the trail:\n%s", raw)
			}
			return nil
		})
	}
}
