package raftfsm_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"

	"minitwit/raftfsm"
	"minitwit/store"
)

func newFSM(t testing.TB) (*raftfsm.FSM, *store.Store) {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "data.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return raftfsm.New(s), s
}

// script is a sequence of commands touching every kind and every refusal.
func script() []raftfsm.Command {
	key := bytes.Repeat([]byte{7}, 32)
	return []raftfsm.Command{
		&raftfsm.InitSecrets{SessionKey: key},
		&raftfsm.Register{Username: "Roger Histand", Email: "r@h", PasswordHash: "$argon2id$x", Latest: raftfsm.LatestOf(1)},
		&raftfsm.Register{Username: "Ünï", Email: "u@n", PasswordHash: "h", Latest: raftfsm.LatestOf(2)},
		&raftfsm.Register{Username: "Roger Histand", Email: "dup@h", PasswordHash: "h", Latest: raftfsm.LatestOf(3)}, // taken
		&raftfsm.PostMessage{Author: "Roger Histand", Text: "hello ☃ \"quoted\"", PubDate: 1582260561, Latest: raftfsm.LatestOf(4)},
		&raftfsm.PostMessage{Author: "nobody", Text: "x", PubDate: 1, Latest: raftfsm.LatestOf(5)}, // unknown
		&raftfsm.Follow{Who: "Ünï", Whom: "Roger Histand", Latest: raftfsm.LatestOf(6)},
		&raftfsm.Follow{Who: "Ünï", Whom: "Roger Histand", Latest: raftfsm.LatestOf(7)},   // duplicate
		&raftfsm.Follow{Who: "Ünï", Whom: "Ünï", Latest: raftfsm.LatestOf(8)},             // self
		&raftfsm.Unfollow{Who: "Roger Histand", Whom: "Ünï", Latest: raftfsm.LatestOf(9)}, // not followed
		&raftfsm.SetLatest{Latest: raftfsm.LatestOf(10)},
		&raftfsm.PostMessage{Author: "Ünï", Text: "to be flagged", PubDate: 1582260562},
		&raftfsm.FlagMessage{MessageID: 2, Flagged: true},
		&raftfsm.FlagMessage{MessageID: 99, Flagged: true},            // unknown
		&raftfsm.InitSecrets{SessionKey: bytes.Repeat([]byte{8}, 32)}, // ignored: first wins
		&raftfsm.Unfollow{Who: "Ünï", Whom: "Roger Histand", Latest: raftfsm.LatestOf(11)},
		&raftfsm.Follow{Who: "Ünï", Whom: "Roger Histand", Latest: raftfsm.LatestOf(12)},
		&raftfsm.CertPut{Key: "certificates/acme/x/x.crt", Value: []byte("PEM"), Modified: 5},
		&raftfsm.CertLock{Name: "issue_cert_x", Owner: "node1/a", Now: 100, Expires: 200},
		&raftfsm.CertLock{Name: "issue_cert_x", Owner: "node2/b", Now: 150, Expires: 250}, // held
		&raftfsm.CertUnlock{Name: "issue_cert_x", Owner: "node1/a"},
		&raftfsm.CertDelete{Key: "certificates/acme/x"},
		&raftfsm.ImportMessages{Messages: []raftfsm.ImportedMessage{
			{LegacyID: 7, Author: "Ünï", Text: "from the course db", PubDate: 1500000000},
			{LegacyID: 8, Author: "Roger Histand", Text: "flagged there", PubDate: 1500000001, Flagged: true},
			{LegacyID: 9, Author: "nobody", Text: "skipped", PubDate: 1500000002},
		}},
		&raftfsm.ImportMessages{Messages: []raftfsm.ImportedMessage{{LegacyID: 7, Author: "Ünï", Text: "from the course db", PubDate: 1500000000}}}, // again: nothing
		&raftfsm.Rehash{User: "Ünï", Old: "h", New: "$argon2id$new"},
		&raftfsm.Rehash{User: "Ünï", Old: "h", New: "$argon2id$other"}, // no longer "h": unchanged
		&raftfsm.CreateAdmin{Username: "root", Email: "root@example.com", PasswordHash: "$argon2id$root", FirstOnly: true},
		&raftfsm.CreateAdmin{Username: "root2", Email: "root2@example.com", PasswordHash: "h", FirstOnly: true}, // an admin exists
		&raftfsm.SetAdmin{User: "root", Admin: false},                                                           // the last admin
		&raftfsm.SetAdmin{User: "Ünï", Admin: true},
		&raftfsm.SetAdmin{User: "root", Admin: false},
		&raftfsm.SetAdmin{User: "nobody", Admin: true}, // unknown
		&raftfsm.SetPassword{User: "Roger Histand", Hash: "$argon2id$reset"},
		&raftfsm.SetPassword{User: "Roger Histand", Hash: ""}, // invalid
		&raftfsm.EndSessions{User: "Roger Histand"},
		&raftfsm.EndSessions{User: "nobody"}, // unknown
		&raftfsm.CreateAdmin{Username: "ops", Email: "ops@example.com", PasswordHash: "$argon2id$ops"},
		&raftfsm.TOTPEnroll{User: "ops", Secret: "JBSWY3DPEHPK3PXP", Step: 100, RecoveryHashes: []string{"h1", "h2"}},
		&raftfsm.TOTPUse{User: "ops", Step: 100},                        // step used at enrollment
		&raftfsm.TOTPUse{User: "ops", Step: 101},                        // the next one
		&raftfsm.TOTPUse{User: "ops", RecoveryHash: "h1"},               // a recovery code
		&raftfsm.TOTPUse{User: "ops", RecoveryHash: "h1"},               // spent
		&raftfsm.TOTPUse{User: "Roger Histand", Step: 5},                // no second factor
		&raftfsm.TOTPEnroll{User: "nobody", Secret: "JBSWY3DPEHPK3PXP"}, // unknown
		&raftfsm.TOTPEnroll{User: "ops", Secret: ""},                    // invalid
		&raftfsm.TOTPReset{User: "Roger Histand"},                       // nothing to reset
		&raftfsm.TOTPReset{User: "ops"},
		&raftfsm.FoldNames{},
		&raftfsm.Register{Username: "ROGER HISTAND", Email: "r2@h", PasswordHash: "h"}, // taken, but for case
		&raftfsm.InitSecrets{JoinToken: []byte("the first join token")},
		&raftfsm.RotateJoinToken{Token: []byte("short")}, // invalid
		&raftfsm.RotateJoinToken{Token: bytes.Repeat([]byte("r"), 32)},
	}
}

var wantErrs = map[int]error{3: store.ErrNameTaken, 5: store.ErrUnknownUser, 8: store.ErrFollowSelf, 13: store.ErrUnknownMessage, 19: store.ErrLocked,
	27: store.ErrAdminExists, 28: store.ErrLastAdmin, 31: store.ErrUnknownUser, 33: store.ErrInvalid, 35: store.ErrUnknownUser,
	38: store.ErrCodeUsed, 41: store.ErrCodeUsed, 42: store.ErrNoTOTP, 43: store.ErrUnknownUser, 44: store.ErrInvalid, 48: store.ErrNameTaken,
	50: store.ErrInvalid}

func logsOf(cmds []raftfsm.Command, first uint64) []*raft.Log {
	logs := make([]*raft.Log, len(cmds))
	for i, c := range cmds {
		logs[i] = &raft.Log{Index: first + uint64(i), Term: 1, Type: raft.LogCommand, Data: raftfsm.Encode(c)}
	}
	return logs
}

func digest(t testing.TB, s *store.Store) string {
	t.Helper()
	d, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEveryCommandOneByOne(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	for i, l := range logsOf(script(), 1) {
		res, ok := f.Apply(l).(raftfsm.Result)
		if !ok {
			t.Fatalf("entry %d: result %T", i, f.Apply(l))
		}
		if want := wantErrs[i]; !errors.Is(res.Err, want) || (want == nil && res.Err != nil) {
			t.Errorf("command %d (%T): err %v, want %v", i, script()[i], res.Err, want)
		}
	}
	err := s.View(func(r *store.ReadTx) error {
		if c := r.Counts(); c != (store.Counts{Users: 4, Messages: 4, Follows: 1, Flagged: 2, Admins: 2}) {
			return fmt.Errorf("counts %+v", c)
		}
		if admins, _ := r.Admins(10); len(admins) != 2 || admins[0].Name != "Ünï" || admins[1].Name != "ops" {
			return fmt.Errorf("admins %+v", admins)
		}
		if u, _ := r.UserByName("Roger Histand"); u.PasswordHash != "$argon2id$reset" {
			return fmt.Errorf("password hash %q after a reset and a refused empty one", u.PasswordHash)
		}
		if v, _ := r.Latest(); v != 12 {
			return fmt.Errorf("latest %d, want 12", v)
		}
		if k := r.SessionKey(); k[0] != 7 {
			return errors.New("session key: the first proposal must win")
		}
		if r.AppliedIndex() != uint64(len(script())) {
			return fmt.Errorf("applied index %d", r.AppliedIndex())
		}
		pub, _ := r.PublicTimeline(store.Page{Limit: 10})
		if len(pub.Messages) != 2 || pub.Messages[0].Text != "from the course db" || pub.Messages[1].Text != "hello ☃ \"quoted\"" {
			return fmt.Errorf("public timeline %+v", pub.Messages)
		}
		if u, _ := r.UserByName("Ünï"); u.PasswordHash != "$argon2id$new" {
			return fmt.Errorf("password hash %q after two rehashes, want the first's", u.PasswordHash)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusedCommandStillRecordsLatest(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	res := f.Apply(logsOf([]raftfsm.Command{&raftfsm.PostMessage{Author: "ghost", Text: "t", Latest: raftfsm.LatestOf(41)}}, 1)[0]).(raftfsm.Result)
	if !errors.Is(res.Err, store.ErrUnknownUser) {
		t.Fatalf("err %v", res.Err)
	}
	s.View(func(r *store.ReadTx) error {
		if v, ok := r.Latest(); !ok || v != 41 {
			t.Errorf("latest %d %v, want 41", v, ok)
		}
		return nil
	})
}

func TestBatchEqualsOneByOne(t *testing.T) {
	t.Parallel()
	one, s1 := newFSM(t)
	batch, s2 := newFSM(t)
	logs := logsOf(script(), 1)
	var oneRes []any
	for _, l := range logs {
		oneRes = append(oneRes, one.Apply(l))
	}
	// A configuration entry in the middle of a batch advances the index only.
	cfg := &raft.Log{Index: uint64(len(logs) + 1), Type: raft.LogConfiguration}
	batchRes := batch.ApplyBatch(append(logs, cfg))
	one.Apply(cfg)
	if !reflect.DeepEqual(oneRes, batchRes[:len(logs)]) {
		t.Fatalf("results differ:\n one %v\nbatch %v", oneRes, batchRes)
	}
	if digest(t, s1) != digest(t, s2) {
		t.Fatal("state after a batch differs from state after single applies")
	}
	s2.View(func(r *store.ReadTx) error {
		if r.AppliedIndex() != cfg.Index {
			t.Errorf("applied index %d, want %d", r.AppliedIndex(), cfg.Index)
		}
		return nil
	})
}

func TestReplayIsANoOp(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	logs := logsOf(script(), 1)
	f.ApplyBatch(logs[:10])
	f.ApplyBatch(logs[10:])
	want := digest(t, s)
	// Raft replays entries after a restart: all of them, then an overlap.
	for _, res := range f.ApplyBatch(logs) {
		if res != nil {
			t.Fatalf("a replayed entry produced a result: %v", res)
		}
	}
	more := logsOf([]raftfsm.Command{&raftfsm.PostMessage{Author: "Ünï", Text: "new", PubDate: 3}}, uint64(len(logs))+1)
	f.ApplyBatch(append(logs[5:], more...))
	s.View(func(r *store.ReadTx) error {
		if c := r.Counts(); c.Messages != 5 {
			t.Errorf("messages %d, want 5 (replayed posts must not be applied twice)", c.Messages)
		}
		return nil
	})
	f2, s2 := newFSM(t)
	f2.ApplyBatch(append(logs, more...))
	if digest(t, s) != digest(t, s2) {
		t.Fatal("replay changed the state")
	}
	_ = want
}

// memSink is a raft.SnapshotSink over a buffer.
type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Close() error  { return nil }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }

func TestSnapshotRestore(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	logs := logsOf(script(), 1)
	f.ApplyBatch(logs)
	want := digest(t, s)
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Entries applied after Snapshot() returns must not leak into it.
	f.ApplyBatch(logsOf([]raftfsm.Command{&raftfsm.PostMessage{Author: "Ünï", Text: "later", PubDate: 9}}, uint64(len(logs))+1))
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	f2, s2 := newFSM(t)
	f2.ApplyBatch(logsOf([]raftfsm.Command{&raftfsm.Register{Username: "stale", Email: "s@s", PasswordHash: "h"}}, 1))
	if err := f2.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got := digest(t, s2); got != want {
		t.Fatal("restored state differs from the state at the snapshot")
	}
	s2.View(func(r *store.ReadTx) error {
		if r.AppliedIndex() != uint64(len(logs)) {
			t.Errorf("applied index after restore %d, want %d", r.AppliedIndex(), len(logs))
		}
		return nil
	})
	// Entries after the snapshot's index apply normally; those before are skipped.
	f2.ApplyBatch(logs)
	if digest(t, s2) != want {
		t.Fatal("entries at or below the snapshot index were applied again")
	}
}

func TestRestoreRefusesBadSnapshots(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	f.ApplyBatch(logsOf(script(), 1))
	want := digest(t, s)
	newer := append([]byte("MTWTSNAP"), 0, 0, 0, 99)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("definitely not a snapshot"),
		"newer":     append(newer, make([]byte, 4096)...),
		"truncated": append([]byte("MTWTSNAP"), 0, 0, 0, 1, 1, 2, 3),
	} {
		if err := f.Restore(io.NopCloser(bytes.NewReader(data))); err == nil {
			t.Errorf("%s snapshot accepted", name)
		}
	}
	if digest(t, s) != want {
		t.Fatal("a refused restore changed the data")
	}
}

func TestNewerFormatEntryStopsTheNode(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	defer func() {
		if recover() == nil {
			t.Fatal("applying an entry from a newer format must stop the node")
		}
		s.View(func(r *store.ReadTx) error {
			if r.AppliedIndex() != 0 {
				t.Error("the refused batch must not be committed")
			}
			return nil
		})
	}()
	data := raftfsm.Encode(&raftfsm.SetLatest{Latest: raftfsm.LatestOf(1)})
	data[0] = raftfsm.FormatVersion + 1
	f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: data}})
}

func TestBatchEntryEqualsSeparateEntries(t *testing.T) {
	t.Parallel()
	sep, s1 := newFSM(t)
	bat, s2 := newFSM(t)
	var wantRes []raftfsm.Result
	for _, l := range logsOf(script(), 1) {
		wantRes = append(wantRes, sep.Apply(l).(raftfsm.Result))
	}
	b := &raftfsm.Batch{}
	for _, c := range script() {
		b.Entries = append(b.Entries, raftfsm.Encode(c))
	}
	got, ok := bat.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: raftfsm.Encode(b)}).([]raftfsm.Result)
	if !ok || !reflect.DeepEqual(got, wantRes) {
		t.Fatalf("batch results %v, want %v", got, wantRes)
	}
	// The batch is one log entry: only the applied index differs.
	if digest(t, s1) != digest(t, s2) {
		t.Fatal("a batch entry changed the state differently from separate entries")
	}
}

func TestBatchRefusesBadSubEntries(t *testing.T) {
	t.Parallel()
	f, s := newFSM(t)
	inner := raftfsm.Encode(&raftfsm.Batch{Entries: [][]byte{raftfsm.Encode(&raftfsm.SetLatest{Latest: raftfsm.LatestOf(5)})}})
	b := &raftfsm.Batch{Entries: [][]byte{
		inner,
		[]byte{1, 200},
		raftfsm.Encode(&raftfsm.SetLatest{Latest: raftfsm.LatestOf(7)}),
	}}
	res := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: raftfsm.Encode(b)}).([]raftfsm.Result)
	if !errors.Is(res[0].Err, raftfsm.ErrMalformed) || !errors.Is(res[1].Err, raftfsm.ErrMalformed) || res[2].Err != nil {
		t.Fatalf("results %v", res)
	}
	s.View(func(r *store.ReadTx) error {
		if v, _ := r.Latest(); v != 7 {
			t.Errorf("latest %d: a nested batch must not be applied, the good entry must", v)
		}
		return nil
	})
}
