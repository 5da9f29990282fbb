package raftfsm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/store"
)

// Result is what applying one command produced: the id of a created user or
// message, and a typed store error if the command was refused. It is the
// value an ApplyFuture's Response() returns on the node that proposed (a
// []Result, one per entry, for a Batch).
type Result struct {
	ID  uint64
	Err error
}

// FSM applies committed log entries to a store. It implements
// raft.BatchingFSM.
type FSM struct {
	store   *store.Store
	applied atomic.Uint64 // the last index applied to the store, for readers

	mu       sync.Mutex
	advanced chan struct{} // closed when applied moves; nil until someone waits

	recent recentRequests // results of the last tagged requests (requests.go)

	// OnApply, if set before Raft starts, is told how long each batch's
	// transaction took (metrics).
	OnApply func(entries int, d time.Duration)
}

// New returns an FSM over s.
func New(s *store.Store) *FSM {
	f := &FSM{store: s}
	f.loadApplied()
	return f
}

// loadApplied reads the applied index from the store. A store that cannot
// be read leaves it at 0, which only makes Raft replay entries the store
// skips as already applied; the error itself surfaces at the first Apply.
func (f *FSM) loadApplied() {
	_ = f.store.View(func(r *store.ReadTx) error { f.applied.Store(r.AppliedIndex()); return nil })
	f.signalAdvanced()
}

// Advanced returns a channel that is closed the next time AppliedIndex
// moves, so readers waiting for an index sleep until there is news instead
// of polling.
func (f *FSM) Advanced() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.advanced == nil {
		f.advanced = make(chan struct{})
	}
	return f.advanced
}

func (f *FSM) signalAdvanced() {
	f.mu.Lock()
	if f.advanced != nil {
		close(f.advanced)
		f.advanced = nil
	}
	f.mu.Unlock()
}

// AppliedIndex is the index of the last log entry whose effects are in the
// store. Unlike Raft's own applied index it only moves once the store has
// committed the entry. It skips entries Raft never hands to the FSM
// (no-ops, barriers), so a reader waiting for an index must first map it
// to the last entry at or below it that the FSM does see.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

var _ raft.BatchingFSM = (*FSM)(nil)

// Apply applies one entry.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies entries in one bbolt transaction: one commit, one fsync
// for the whole batch, which is where write throughput comes from. The
// highest index in the batch is stored in the same transaction, and entries
// at or below the stored index (replays after a restart) are skipped.
//
// A command refused by the store (unknown user, name taken) is a normal,
// deterministic result. A failure to commit is not: the file no longer
// matches the log, so the node panics and, on restart, replays from the last
// committed index.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	started := time.Now()
	results := make([]any, len(logs))
	var tags []taggedResult
	err := f.store.Update(func(w *store.WriteTx) error {
		tags = tags[:0] // bbolt may run the function once only, but be safe
		applied := w.AppliedIndex()
		last := applied
		for i, l := range logs {
			if l.Index <= applied {
				// Applied before a restart: only its request ID is
				// remembered, so that a retry is not applied again.
				if l.Type == raft.LogCommand {
					tags = appendReplayedTags(tags, l.Data)
				}
				continue
			}
			last = l.Index
			if l.Type != raft.LogCommand {
				continue
			}
			res, err := applyEntry(w, l, &tags)
			if err != nil {
				return err
			}
			results[i] = res
		}
		if last == applied {
			return nil
		}
		return w.SetAppliedIndex(last)
	})
	if err != nil {
		panic(fmt.Sprintf("raftfsm: cannot apply log entries %d..%d: %v", logs[0].Index, logs[len(logs)-1].Index, err))
	}
	f.recent.remember(tags)
	if f.OnApply != nil {
		f.OnApply(len(logs), time.Since(started))
	}
	if last := logs[len(logs)-1].Index; last > f.applied.Load() {
		f.applied.Store(last)
		f.signalAdvanced()
	}
	return results
}

// applyEntry decodes and runs one log entry: a Result for a command, a
// []Result for a Batch. Tagged commands also add their ID and result to
// tags. It returns an error only for what must stop the node: an entry
// from a newer format, or a store failure that is not a typed refusal.
func applyEntry(w *store.WriteTx, l *raft.Log, tags *[]taggedResult) (any, error) {
	cmd, err := Decode(l.Data)
	if err != nil {
		return applyDecoded(w, l.Index, nil, err)
	}
	batch, ok := cmd.(*Batch)
	if !ok {
		return applyOne(w, l.Index, cmd, tags)
	}
	results := make([]Result, len(batch.Entries))
	for i, raw := range batch.Entries {
		sub, err := Decode(raw)
		if _, nested := sub.(*Batch); nested {
			sub, err = nil, fmt.Errorf("%w: a batch inside a batch", ErrMalformed)
		}
		if err != nil {
			results[i], err = applyDecoded(w, l.Index, nil, err)
		} else {
			results[i], err = applyOne(w, l.Index, sub, tags)
		}
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// applyOne applies a command that is not a Batch, unwrapping a Tagged one.
func applyOne(w *store.WriteTx, index uint64, cmd Command, tags *[]taggedResult) (Result, error) {
	t, ok := cmd.(*Tagged)
	if !ok {
		return applyDecoded(w, index, cmd, nil)
	}
	inner, err := Decode(t.Cmd)
	switch inner.(type) {
	case *Batch, *Tagged:
		inner, err = nil, fmt.Errorf("%w: a batch or tagged command inside a tagged one", ErrMalformed)
	}
	res, err := applyDecoded(w, index, inner, err)
	if err == nil {
		*tags = append(*tags, taggedResult{id: t.ID, res: res, known: true})
	}
	return res, err
}

func applyDecoded(w *store.WriteTx, index uint64, cmd Command, decodeErr error) (Result, error) {
	if errors.Is(decodeErr, ErrNewerFormat) {
		return Result{}, fmt.Errorf("log entry %d: %w; upgrade this node", index, decodeErr)
	}
	if decodeErr != nil {
		return Result{Err: decodeErr}, nil // deterministic on every node: refused, nothing changed
	}
	res := ExecuteAt(w, index, cmd)
	if res.Err != nil && !IsRefusal(res.Err) {
		return Result{}, fmt.Errorf("log entry %d (%T): %w", index, cmd, res.Err)
	}
	// Every replica that got here reads cmd's format (store/formatfloor.go).
	if f := FormatOf(cmd); f > ReleasedFormat {
		if err := w.RaiseFormatFloor(f); err != nil {
			return Result{}, fmt.Errorf("log entry %d: format floor: %w", index, err)
		}
	}
	return res, nil
}

// IsRefusal reports whether err is a typed, deterministic refusal by the
// store (as opposed to an I/O failure). The refusals are the errors that
// have a wire code (result.go), so every refusal can reach the proposer.
func IsRefusal(err error) bool {
	for _, c := range refusalCodes {
		if errors.Is(err, c.err) {
			return true
		}
	}
	return false
}

// Execute runs one command on a write transaction. It is the whole state
// machine, usable without Raft (tests, offline tools). The command's Latest is
// recorded whatever the command's outcome: the simulator's action happened
// even when it was refused.
func Execute(w *store.WriteTx, cmd Command) Result { return ExecuteAt(w, 0, cmd) }

// ExecuteAt is Execute for the log entry at index, which a lock's fence
// records.
func ExecuteAt(w *store.WriteTx, index uint64, cmd Command) Result {
	var res Result
	var latest Latest
	switch c := cmd.(type) {
	case *Register:
		res.ID, res.Err = w.Register(c.Username, c.Email, c.PasswordHash)
		latest = c.Latest
	case *PostMessage:
		res.ID, res.Err = w.Post(c.Author, c.Text, c.PubDate)
		latest = c.Latest
	case *Follow:
		res.Err = w.Follow(c.Who, c.Whom)
		latest = c.Latest
	case *Unfollow:
		res.Err = w.Unfollow(c.Who, c.Whom)
		latest = c.Latest
	case *SetLatest:
		latest = c.Latest
	case *FlagMessage:
		res.Err = w.SetFlag(c.MessageID, c.Flagged)
	case *InitSecrets:
		res.Err = w.InitSecrets(store.ClusterSecrets{SessionKey: c.SessionKey, CACert: c.CACert, CAKey: c.CAKey, JoinToken: c.JoinToken})
	case *RotateJoinToken:
		res.Err = w.RotateJoinToken(c.Token)
	case *RotateCA:
		res.Err = applyRotateCA(w, c)
	case *CertPut:
		res.Err = w.PutCert(c.Key, c.Value, c.Modified)
	case *CertDelete:
		res.Err = w.DeleteCert(c.Key)
	case *CertLock:
		res.Err = w.AcquireCertLease(c.Name, c.Owner, c.Now, c.Expires, index)
	case *CertUnlock:
		res.Err = w.ReleaseCertLease(c.Name, c.Owner)
	case *ImportMessages:
		for _, m := range c.Messages {
			if _, err := w.ImportMessage(m.LegacyID, m.Author, m.Text, m.PubDate, m.Flagged); err == nil {
				res.ID++
			} else if !IsRefusal(err) {
				res.Err = err
				break
			}
		}
	case *Rehash:
		_, res.Err = w.ReplacePasswordHash(c.User, c.Old, c.New)
	case *SetAdmin:
		res.Err = w.SetAdmin(c.User, c.Admin)
	case *SetPassword:
		if c.Old != "" {
			if u, err := w.UserByName(c.User); err == nil && u.PasswordHash != c.Old {
				res.Err = store.ErrPasswordChanged
				break
			}
		}
		res.Err = w.SetPasswordHash(c.User, c.Hash)
		if res.Err == nil && c.Temporary {
			res.Err = w.MarkPasswordTemporary(c.User)
		}
	case *CreateAdmin:
		if c.FirstOnly {
			res.ID, res.Err = w.RegisterFirstAdmin(c.Username, c.Email, c.PasswordHash)
		} else {
			res.ID, res.Err = w.RegisterAdmin(c.Username, c.Email, c.PasswordHash)
		}
		if res.Err == nil && c.Temporary {
			res.Err = w.MarkPasswordTemporary(c.Username)
		}
	case *EndSessions:
		res.ID, res.Err = w.EndSessions(c.User)
	case *TOTPEnroll:
		res.Err = w.EnrollTOTP(c.User, c.Secret, c.Step, c.RecoveryHashes)
	case *TOTPUse:
		res.ID, res.Err = w.UseTOTP(c.User, c.Step, c.RecoveryHash)
	case *TOTPReset:
		var had bool
		if had, res.Err = w.ResetTOTP(c.User); had {
			res.ID = 1
		}
	case *FoldNames:
		res.Err = w.EnableFoldedNames()
	case *RevokeNode:
		res.Err = w.RevokeNodeCerts(c.ID, c.Before)
	case *Audit:
		res = applyAudit(w, index, c)
	default: // including a Batch, which only applyEntry unpacks
		res.Err = fmt.Errorf("%w: %T", ErrMalformed, cmd)
	}
	if latest.Set && (res.Err == nil || IsRefusal(res.Err)) {
		if err := w.SetLatest(latest.Value); err != nil {
			return Result{Err: err}
		}
	}
	return res
}

// Snapshot format: a fixed header, then the bbolt file as bbolt writes it.
var snapshotMagic = [8]byte{'M', 'T', 'W', 'T', 'S', 'N', 'A', 'P'}

// SnapshotVersion is the snapshot layout this code writes.
const SnapshotVersion = 1

// Snapshot begins a bbolt read transaction now, in the FSM goroutine, so the
// snapshot holds exactly the state at the last applied index; Persist only
// streams it. Opening the transaction in Persist would capture later
// entries, which Raft would then apply a second time after a restore.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	sn, err := f.store.BeginSnapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{sn: sn}, nil
}

type fsmSnapshot struct{ sn *store.Snapshot }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	err := WriteSnapshot(sink, s.sn)
	// The read transaction is not needed once the data is out, and
	// hashicorp/raft's RecoverCluster never calls Release: a transaction
	// left open would block the store's Close forever. Release again is
	// harmless.
	s.sn.Release()
	if err != nil {
		// The write error is the one that matters; Cancel only discards
		// the partial snapshot.
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.sn.Release() }

// WriteSnapshot writes a snapshot in the FSM's format to w.
func WriteSnapshot(w io.Writer, sn *store.Snapshot) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var hdr [12]byte
	copy(hdr[:8], snapshotMagic[:])
	binary.BigEndian.PutUint32(hdr[8:], SnapshotVersion)
	if _, err := bw.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := sn.WriteTo(bw); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return bw.Flush()
}

// Restore replaces the whole state with a snapshot. The store writes the new
// file beside the old one and swaps it in atomically.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return fmt.Errorf("restore: read snapshot header: %w", err)
	}
	if !bytes.Equal(hdr[:8], snapshotMagic[:]) {
		return errors.New("restore: not a minitwit snapshot")
	}
	if v := binary.BigEndian.Uint32(hdr[8:]); v > SnapshotVersion {
		return fmt.Errorf("restore: snapshot format %d is newer than this binary reads (%d); upgrade this node", v, SnapshotVersion)
	}
	if err := f.store.ReplaceWith(br); err != nil {
		return err
	}
	f.loadApplied()
	return nil
}

// applyRotateCA runs one step of a CA rotation (store/carotation.go).
func applyRotateCA(w *store.WriteTx, c *RotateCA) error {
	switch c.Step {
	case CAStepStage:
		return w.StageCA(c.Cert, c.Key)
	case CAStepSwitch:
		return w.SwitchCA(c.Cert)
	case CAStepRetire:
		return w.RetireCA(c.Cert)
	}
	return fmt.Errorf("%w: unknown CA rotation step %d", store.ErrInvalid, c.Step)
}
