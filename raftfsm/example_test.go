package raftfsm_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"minitwit/raftfsm"
	"minitwit/store"
)

// Commands are encoded by the proposer and applied in batches; a refused
// command is a normal result, and `latest` is recorded either way.
func ExampleFSM_ApplyBatch() {
	dir, _ := os.MkdirTemp("", "fsm-example")
	defer os.RemoveAll(dir)
	s, _ := store.Open(filepath.Join(dir, "data.db"), store.Options{})
	defer s.Close()
	fsm := raftfsm.New(s)

	cmds := []raftfsm.Command{
		&raftfsm.Register{Username: "Roger Histand", Email: "r@example.com", PasswordHash: "$argon2id$...", Latest: raftfsm.LatestOf(0)},
		&raftfsm.PostMessage{Author: "Roger Histand", Text: "Hello", PubDate: 1582260561, Latest: raftfsm.LatestOf(1)},
		&raftfsm.Follow{Who: "Roger Histand", Whom: "Nobody", Latest: raftfsm.LatestOf(2)},
	}
	var logs []*raft.Log
	for i, c := range cmds {
		logs = append(logs, &raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: raftfsm.Encode(c)})
	}
	for _, res := range fsm.ApplyBatch(logs) {
		r := res.(raftfsm.Result)
		fmt.Println(r.ID, r.Err)
	}
	// Replaying the same entries (as Raft does after a restart) is a no-op.
	fmt.Println(fsm.ApplyBatch(logs))
	s.View(func(r *store.ReadTx) error {
		latest, _ := r.Latest()
		fmt.Println("latest:", latest, "applied:", r.AppliedIndex())
		return nil
	})
	// Output:
	// 1 <nil>
	// 1 <nil>
	// 0 unknown user
	// [<nil> <nil> <nil>]
	// latest: 2 applied: 3
}
