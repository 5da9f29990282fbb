package raftfsm_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/raft"

	"minitwit/raftfsm"
	"minitwit/store"
)

// TestAuditWrapsItsCommand: an Audit applies its command and records the
// line in the same entry, with the command's outcome (a refusal's code);
// the result is the command's, so the proposer sees the refusal.
func TestAuditWrapsItsCommand(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	stamp := raftfsm.Audit{Time: 42, Node: "n2", Via: "n1"}
	cmds := []raftfsm.Command{
		&raftfsm.CreateAdmin{Username: "root", Email: "r@example.com", PasswordHash: "h", FirstOnly: true},
		&raftfsm.Register{Username: "bob", Email: "b@example.com", PasswordHash: "h"},
		raftfsm.Wrap(&raftfsm.SetAdmin{User: "bob", Admin: true}, stamp),
		raftfsm.Wrap(&raftfsm.SetPassword{User: "ghost", Hash: "$argon2id$x"}, stamp),
		&raftfsm.Audit{Time: 43, Node: "n3", Via: "n3", Action: "read join token"},
		raftfsm.Wrap(&raftfsm.FlagMessage{MessageID: 9, Flagged: true}, raftfsm.Audit{Time: 44, Node: "n1", User: "root", Via: "n1"}),
	}
	var errs []error
	for _, l := range logsOf(cmds, 1) {
		errs = append(errs, f.Apply(l).(raftfsm.Result).Err)
	}
	if errs[2] != nil || !errors.Is(errs[3], store.ErrUnknownUser) || errs[4] != nil || !errors.Is(errs[5], store.ErrUnknownMessage) {
		t.Fatalf("results %v", errs)
	}
	err := s.View(func(r *store.ReadTx) error {
		if u, _ := r.UserByName("bob"); !u.Admin {
			return errors.New("the wrapped grant was not applied")
		}
		got := r.Audit(0, 10)
		want := []store.AuditEntry{
			{Seq: 4, Time: 44, Node: "n1", User: "root", Via: "n1", Action: "flag message", Target: "9", Outcome: "refused: unknown_message"},
			{Seq: 3, Time: 43, Node: "n3", Via: "n3", Action: "read join token", Outcome: "ok"},
			{Seq: 2, Time: 42, Node: "n2", Via: "n1", Action: "reset password", Target: "ghost", Outcome: "refused: unknown_user"},
			{Seq: 1, Time: 42, Node: "n2", Via: "n1", Action: "grant admin", Target: "bob", Outcome: "ok"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("trail\n %+v, want\n %+v", got, want)
		}
		if older := r.Audit(3, 10); len(older) != 2 || older[0].Seq != 2 {
			return fmt.Errorf("entries before 3: %+v", older)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuditRefusesNesting: an Audit around a Batch, a Tagged or another
// Audit is refused and records nothing; one around an entry of a newer
// format stops the node like that entry would.
func TestAuditRefusesNesting(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	inner := raftfsm.Encode(&raftfsm.SetLatest{Latest: raftfsm.LatestOf(1)})
	for i, cmd := range []raftfsm.Command{
		&raftfsm.Batch{Entries: [][]byte{inner}},
		&raftfsm.Tagged{Cmd: inner},
		&raftfsm.Audit{Action: "x"},
	} {
		res := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: raftfsm.Encode(&raftfsm.Audit{Action: "outer", Cmd: raftfsm.Encode(cmd)})}).(raftfsm.Result)
		if !errors.Is(res.Err, raftfsm.ErrMalformed) {
			t.Errorf("%T inside an audit record: %v, want ErrMalformed", cmd, res.Err)
		}
	}
	s.View(func(r *store.ReadTx) error {
		if got := r.Audit(0, 10); len(got) != 0 {
			t.Errorf("refused records left %+v", got)
		}
		return nil
	})
	newer := append([]byte(nil), inner...)
	newer[0] = raftfsm.FormatVersion + 1
	defer func() {
		if recover() == nil {
			t.Fatal("an audit record around a newer entry must stop the node")
		}
	}()
	f.ApplyBatch([]*raft.Log{{Index: 10, Type: raft.LogCommand, Data: raftfsm.Encode(&raftfsm.Audit{Action: "outer", Cmd: newer})}})
}

// TestDescribeNamesOperatorCommandsWithoutSecrets: what a leader records
// for a bare forwarded command, and what it leaves to the user's own
// writes.
func TestDescribeNamesOperatorCommandsWithoutSecrets(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cmd            raftfsm.Command
		action, target string
	}{
		{&raftfsm.SetAdmin{User: "a", Admin: true}, "grant admin", "a"},
		{&raftfsm.SetAdmin{User: "a"}, "revoke admin", "a"},
		{&raftfsm.SetPassword{User: "a", Hash: "SECRET", Temporary: true}, "reset password (one-time)", "a"},
		{&raftfsm.SetPassword{User: "a", Hash: "SECRET", Old: "o"}, "", ""},
		{&raftfsm.CreateAdmin{Username: "a", PasswordHash: "SECRET"}, "create admin", "a"},
		{&raftfsm.CreateAdmin{Username: "a", FirstOnly: true}, "", ""},
		{&raftfsm.TOTPReset{User: "a"}, "reset two-factor sign-in", "a"},
		{&raftfsm.RotateJoinToken{Token: []byte("SECRET")}, "rotate join token", ""},
		{&raftfsm.RotateCA{Step: raftfsm.CAStepStage, Cert: []byte("c"), Key: []byte("SECRET")}, "rotate cluster CA: stage", ""},
		{&raftfsm.RotateCA{Step: raftfsm.CAStepSwitch, Cert: []byte("c")}, "rotate cluster CA: switch", ""},
		{&raftfsm.RotateCA{Step: raftfsm.CAStepRetire, Cert: []byte("c")}, "rotate cluster CA: retire", ""},
		{&raftfsm.FlagMessage{MessageID: 3}, "unflag message", "3"},
		{&raftfsm.EndSessions{User: "a"}, "", ""},
		{&raftfsm.PostMessage{Author: "a", Text: "x"}, "", ""},
	} {
		a, tg := raftfsm.Describe(c.cmd)
		if a != c.action || tg != c.target {
			t.Errorf("%T: %q %q, want %q %q", c.cmd, a, tg, c.action, c.target)
		}
		if raftfsm.OperatorCommand(c.cmd) != (c.action != "") {
			t.Errorf("%T: OperatorCommand disagrees with Describe", c.cmd)
		}
		if c.action != "" && !raftfsm.OperatorKind(c.cmd.Kind()) {
			t.Errorf("%T: a leader would not look at it (OperatorKind)", c.cmd)
		}
	}
}
