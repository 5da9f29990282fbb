package raftfsm_test

import (
	"errors"
	"testing"

	"minitwit/raftfsm"
	"minitwit/store"
)

// TestFoldNames: before FoldNames, names differing only in case both
// register (the old rule, which every binary applies alike); FoldNames
// keeps them both usable, and from then on a registration, an admin or a
// user of an import whose folded name is taken is refused with
// ErrNameTaken, a refusal that reaches the proposer. Applying it twice
// changes nothing.
func TestFoldNames(t *testing.T) {
	t.Parallel()
	fsm, s := newFSM(t)
	cmds := []raftfsm.Command{
		&raftfsm.Register{Username: "Alice", Email: "a@x", PasswordHash: "h"},
		&raftfsm.Register{Username: "alice", Email: "a2@x", PasswordHash: "h"}, // old data: a clash
		&raftfsm.FoldNames{},
		&raftfsm.Register{Username: "ALICE", Email: "a3@x", PasswordHash: "h"},
		&raftfsm.Register{Username: "Bob", Email: "b@x", PasswordHash: "h"},
		&raftfsm.Register{Username: "bob", Email: "b2@x", PasswordHash: "h"},
		&raftfsm.CreateAdmin{Username: "BOB", Email: "b3@x", PasswordHash: "h"},
		&raftfsm.Register{Username: "Stra\u00dfe", Email: "s@x", PasswordHash: "h"},
		&raftfsm.Register{Username: "STRASSE", Email: "s2@x", PasswordHash: "h"}, // full case folding
		&raftfsm.Register{Username: "Cafe\u0301", Email: "c@x", PasswordHash: "h"},
		&raftfsm.Register{Username: "caf\u00e9", Email: "c2@x", PasswordHash: "h"}, // NFC of the one before
		&raftfsm.FoldNames{}, // again: nothing changes
	}
	want := []error{nil, nil, nil, store.ErrNameTaken, nil, store.ErrNameTaken, store.ErrNameTaken, nil, store.ErrNameTaken, nil, store.ErrNameTaken, nil}
	for i, l := range logsOf(cmds, 1) {
		res := fsm.Apply(l).(raftfsm.Result)
		if !errors.Is(res.Err, want[i]) || (want[i] == nil && res.Err != nil) {
			t.Errorf("%T %+v: %v, want %v", cmds[i], cmds[i], res.Err, want[i])
		}
		if res.Err != nil && !raftfsm.IsRefusal(res.Err) {
			t.Errorf("%T: %v is not a refusal", cmds[i], res.Err)
		}
	}
	s.View(func(r *store.ReadTx) error {
		if !r.FoldedNamesOn() {
			t.Error("FoldNames did not turn the check on")
		}
		for _, name := range []string{"Alice", "alice", "Bob", "Stra\u00dfe", "Cafe\u0301"} {
			if _, err := r.UserByName(name); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if owner, taken := r.NameTakenFold("aLiCe"); !taken || owner != "Alice" {
			t.Errorf("NameTakenFold(aLiCe) = %q, %v", owner, taken)
		}
		if _, taken := r.NameTakenFold("carol"); taken {
			t.Error("carol reported taken")
		}
		return nil
	})
}

// TestFoldNamesConcurrentRegistrations: two registrations of "Alice" and
// "alice" proposed at the same time (by different nodes, each having found
// the name free) end up in one order in the log; whichever comes second is
// refused, on every replica alike, whether they arrive in one batch or
// apart.
func TestFoldNamesConcurrentRegistrations(t *testing.T) {
	t.Parallel()
	a := &raftfsm.Register{Username: "Alice", Email: "a@x", PasswordHash: "h1"}
	b := &raftfsm.Register{Username: "alice", Email: "b@x", PasswordHash: "h2"}
	for _, order := range [][]raftfsm.Command{{a, b}, {b, a}} {
		one, s1 := newFSM(t)
		batch, s2 := newFSM(t)
		logs := logsOf(append([]raftfsm.Command{&raftfsm.FoldNames{}}, order...), 1)
		var oneRes []any
		for _, l := range logs {
			oneRes = append(oneRes, one.Apply(l))
		}
		batchRes := batch.ApplyBatch(logs)
		for i, res := range [][]any{oneRes, batchRes} {
			first, second := res[1].(raftfsm.Result), res[2].(raftfsm.Result)
			if first.Err != nil || !errors.Is(second.Err, store.ErrNameTaken) {
				t.Errorf("order %s then %s (%d): %v then %v", order[0].(*raftfsm.Register).Username,
					order[1].(*raftfsm.Register).Username, i, first.Err, second.Err)
			}
		}
		if digest(t, s1) != digest(t, s2) {
			t.Error("the replicas differ")
		}
		s1.View(func(r *store.ReadTx) error {
			if c := r.Counts(); c.Users != 1 {
				t.Errorf("%d users, want 1", c.Users)
			}
			return nil
		})
	}
}

// TestOlderBinaryStopsOnFoldNames: FoldNames is format 5, so a binary that
// reads up to format 4 refuses it as newer and stops, rather than apply
// later registrations without the check.
func TestOlderBinaryStopsOnFoldNames(t *testing.T) {
	t.Parallel()
	data := raftfsm.Encode(&raftfsm.FoldNames{})
	if data[0] != 5 {
		t.Fatalf("FoldNames written as format %d", data[0])
	}
	if _, err := raftfsm.DecodeUpTo(data, 4); !errors.Is(err, raftfsm.ErrNewerFormat) {
		t.Errorf("read by a format-4 binary: %v", err)
	}
}
