package raftfsm_test

import (
	"errors"
	"slices"
	"testing"

	"minitwit/raftfsm"
	"minitwit/store"
)

// TestAdminCommands runs each admin command through Execute: its result,
// its refusals (which must be refusals, not failures, and must cross the
// cluster RPC), and the state it leaves.
func TestAdminCommands(t *testing.T) {
	t.Parallel()
	_, s := newFSM(t)
	steps := []struct {
		cmd     raftfsm.Command
		wantID  uint64
		wantErr error
		admins  []string // afterwards, in registration order
	}{
		{&raftfsm.Register{Username: "u", Email: "u@example.com", PasswordHash: "h"}, 1, nil, nil},
		{&raftfsm.SetAdmin{User: "u", Admin: false}, 0, nil, nil}, // not an admin: nothing to do
		{&raftfsm.CreateAdmin{Username: "root", Email: "root@example.com", PasswordHash: "h", FirstOnly: true}, 2, nil, []string{"root"}},
		{&raftfsm.CreateAdmin{Username: "root", Email: "root@example.com", PasswordHash: "h", FirstOnly: true}, 0, store.ErrAdminExists, []string{"root"}},
		{&raftfsm.CreateAdmin{Username: "root", Email: "x@example.com", PasswordHash: "h"}, 0, store.ErrNameTaken, []string{"root"}},
		{&raftfsm.CreateAdmin{Username: "", Email: "x@example.com", PasswordHash: "h"}, 0, store.ErrInvalid, []string{"root"}},
		{&raftfsm.CreateAdmin{Username: "second", Email: "s@example.com", PasswordHash: "h"}, 3, nil, []string{"root", "second"}},
		{&raftfsm.SetAdmin{User: "second", Admin: false}, 0, nil, []string{"root"}},
		{&raftfsm.SetAdmin{User: "root", Admin: false}, 0, store.ErrLastAdmin, []string{"root"}},
		{&raftfsm.SetAdmin{User: "ghost", Admin: true}, 0, store.ErrUnknownUser, []string{"root"}},
		{&raftfsm.SetAdmin{User: "u", Admin: true}, 0, nil, []string{"u", "root"}},
		{&raftfsm.SetAdmin{User: "root", Admin: false}, 0, nil, []string{"u"}},
		{&raftfsm.SetPassword{User: "root", Hash: "$argon2id$new"}, 0, nil, []string{"u"}},
		{&raftfsm.SetPassword{User: "root", Hash: ""}, 0, store.ErrInvalid, []string{"u"}},
		{&raftfsm.SetPassword{User: "ghost", Hash: "h"}, 0, store.ErrUnknownUser, []string{"u"}},
		// A conditional change applies only over the hash it expects.
		{&raftfsm.SetPassword{User: "root", Hash: "$argon2id$mine", Old: "$argon2id$stale"}, 0, store.ErrPasswordChanged, []string{"u"}},
		{&raftfsm.SetPassword{User: "root", Hash: "$argon2id$mine", Old: "$argon2id$new"}, 0, nil, []string{"u"}},
	}
	for i, st := range steps {
		var res raftfsm.Result
		if err := s.Update(func(w *store.WriteTx) error { res = raftfsm.Execute(w, st.cmd); return nil }); err != nil {
			t.Fatal(err)
		}
		if res.ID != st.wantID || !errors.Is(res.Err, st.wantErr) || (st.wantErr == nil && res.Err != nil) {
			t.Fatalf("step %d (%T %+v): %+v, want id %d err %v", i, st.cmd, st.cmd, res, st.wantID, st.wantErr)
		}
		if res.Err != nil {
			if !raftfsm.IsRefusal(res.Err) {
				t.Errorf("step %d: %v is not a refusal", i, res.Err)
			}
			if _, err := raftfsm.EncodeResult(res); err != nil {
				t.Errorf("step %d: the refusal cannot reach the proposer: %v", i, err)
			}
		}
		s.View(func(r *store.ReadTx) error {
			admins, err := r.Admins(10)
			var got []string
			for _, u := range admins {
				got = append(got, u.Name)
			}
			if err != nil || !slices.Equal(got, st.admins) || r.Counts().Admins != uint64(len(st.admins)) {
				t.Errorf("step %d: admins %q (count %d), %v; want %q", i, got, r.Counts().Admins, err, st.admins)
			}
			return nil
		})
	}
	s.View(func(r *store.ReadTx) error {
		if u, _ := r.UserByName("root"); u.PasswordHash != "$argon2id$mine" || u.Admin {
			t.Errorf("root at the end: %+v", u)
		}
		return nil
	})
}
