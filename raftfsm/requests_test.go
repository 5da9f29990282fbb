package raftfsm_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"

	"minitwit/raftfsm"
	"minitwit/store"
)

func tagged(id byte, c raftfsm.Command) *raftfsm.Tagged {
	return &raftfsm.Tagged{ID: raftfsm.RequestID{id}, Cmd: raftfsm.Encode(c)}
}

// TestTaggedEncoding: a Tagged command is written as format 2, the kinds
// that existed before it keep format 1 (their bytes in existing logs and
// snapshots do not change), the admin kinds are format 3, and it
// round-trips.
func TestTaggedEncoding(t *testing.T) {
	t.Parallel()
	tg := tagged(7, &raftfsm.Follow{Who: "a", Whom: "b"})
	data := raftfsm.Encode(tg)
	if data[0] != 2 || data[1] != byte(raftfsm.KindTagged) {
		t.Fatalf("tagged header %v, want format 2 kind %d", data[:2], raftfsm.KindTagged)
	}
	for _, c := range script() {
		want := byte(1)
		switch {
		case c.Kind() >= raftfsm.KindFoldNames:
			want = 5
		case c.Kind() >= raftfsm.KindEndSessions:
			want = 4
		case c.Kind() >= raftfsm.KindSetAdmin:
			want = 3
		case c.Kind() >= raftfsm.KindTagged:
			want = 2
		}
		if v := raftfsm.Encode(c)[0]; v != want {
			t.Errorf("%T written as format %d, want %d", c, v, want)
		}
	}
	got, err := raftfsm.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.(*raftfsm.Tagged); g.ID != tg.ID || string(g.Cmd) != string(tg.Cmd) {
		t.Fatalf("round trip: %+v", g)
	}
	if _, err := raftfsm.Decode(data[:10]); !errors.Is(err, raftfsm.ErrMalformed) {
		t.Fatalf("a truncated ID: %v", err)
	}
}

// TestTaggedIsAppliedAndRemembered: a tagged command applies as the
// command does, alone or in a batch, and the FSM remembers its result; the
// state equals applying the plain commands.
func TestTaggedIsAppliedAndRemembered(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	plain, ps := newFSM(t)
	cmds := script()
	var entries [][]byte
	for i, c := range cmds {
		entries = append(entries, raftfsm.Encode(tagged(byte(i+1), c)))
	}
	first := &raft.Log{Index: 1, Type: raft.LogCommand, Data: entries[0]}
	batch := &raft.Log{Index: 2, Type: raft.LogCommand, Data: raftfsm.Encode(&raftfsm.Batch{Entries: entries[1:]})}
	res := f.ApplyBatch([]*raft.Log{first, batch})
	plainRes := plain.ApplyBatch(logsOf(cmds, 1))
	if digest(t, s) != digest(t, ps) {
		t.Fatal("tagged commands changed the state differently from plain ones")
	}
	all := append([]raftfsm.Result{res[0].(raftfsm.Result)}, res[1].([]raftfsm.Result)...)
	for i := range cmds {
		want := plainRes[i].(raftfsm.Result)
		got, applied, known := f.Recent(raftfsm.RequestID{byte(i + 1)})
		if !applied || !known || got.ID != want.ID || fmt.Sprint(got.Err) != fmt.Sprint(want.Err) || all[i] != got {
			t.Errorf("command %d: recent %+v (applied %t, known %t), returned %+v, want %+v", i, got, applied, known, all[i], want)
		}
	}
	if _, applied, _ := f.Recent(raftfsm.RequestID{200}); applied {
		t.Error("an unknown ID is reported as applied")
	}
}

// TestReplayedTaggedIsRememberedWithoutResult: after a restart Raft
// replays entries the file already holds; they are skipped, and their IDs
// are remembered as applied with no result.
func TestReplayedTaggedIsRememberedWithoutResult(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	logs := []*raft.Log{{Index: 1, Type: raft.LogCommand, Data: raftfsm.Encode(tagged(1, script()[1]))}}
	raftfsm.New(s).ApplyBatch(logs)
	s.Close()

	s, err = store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := raftfsm.New(s)
	if _, applied, _ := f.Recent(raftfsm.RequestID{1}); applied {
		t.Fatal("remembered before the replay")
	}
	f.ApplyBatch(logs)
	if _, applied, known := f.Recent(raftfsm.RequestID{1}); !applied || known {
		t.Fatalf("after the replay: applied %t, known %t; want true, false", applied, known)
	}
}

// TestTaggedRefusesNesting: a batch or a tagged command inside a tagged
// one is refused as malformed, deterministically, and changes nothing.
func TestTaggedRefusesNesting(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	inner := raftfsm.Encode(&raftfsm.Batch{Entries: [][]byte{raftfsm.Encode(script()[1])}})
	for i, c := range []*raftfsm.Tagged{
		{ID: raftfsm.RequestID{1}, Cmd: inner},
		{ID: raftfsm.RequestID{2}, Cmd: raftfsm.Encode(tagged(3, script()[1]))},
	} {
		res := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: raftfsm.Encode(c)}).(raftfsm.Result)
		if !errors.Is(res.Err, raftfsm.ErrMalformed) {
			t.Errorf("nested %d: %+v", i, res)
		}
	}
	s.View(func(r *store.ReadTx) error {
		if c := r.Counts(); c.Users != 0 {
			t.Errorf("a refused nested command registered %d users", c.Users)
		}
		return nil
	})
}
