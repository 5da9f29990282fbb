package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"minitwit/store/fsutil"
)

// Snapshot is a read transaction held open so that the data can be streamed
// exactly as it was when the snapshot began, while writes go on.
type Snapshot struct {
	s  *Store
	tx *bolt.Tx
}

// BeginSnapshot starts a snapshot at the current state. The caller must
// Release it; until then bbolt cannot remap the file, which is why Open
// reserves a large mapping.
func (s *Store) BeginSnapshot() (*Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, errClosed
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, err
	}
	return &Snapshot{s: s, tx: tx}, nil
}

// AppliedIndex is the Raft index the snapshot's state corresponds to.
func (sn *Snapshot) AppliedIndex() uint64 {
	return readU64(sn.tx.Bucket(bucketMeta).Get(metaApplied))
}

// WriteTo streams the whole data file as of the snapshot.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) { return sn.tx.WriteTo(w) }

// Size is the number of bytes WriteTo writes.
func (sn *Snapshot) Size() int64 { return sn.tx.Size() }

// Release ends the snapshot's read transaction.
func (sn *Snapshot) Release() { _ = sn.tx.Rollback() }

// ReplaceWith swaps the data file for the bbolt file read from r. The new
// file is written and synced beside the old one, checked by opening it, and
// renamed over it atomically, so a crash leaves either the old or the new
// state, never a mix. Readers wait for the swap and then see the new data.
//
// A snapshot of the old data that is still open (BeginSnapshot, not yet
// released) keeps reading the old file, which is closed once the last one
// is released: the swap does not wait for it. It must not: Raft can hold
// such a snapshot open while it waits for its main goroutine, which on a
// follower installing the leader's snapshot waits for this swap. Waiting
// for the snapshot here deadlocked a follower (and every read of its
// store) under load.
func (s *Store) ReplaceWith(r io.Reader) error {
	tmp := s.path + ".incoming"
	if err := writeFileSynced(tmp, r); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace data file: %w", err)
	}
	check, err := openDB(tmp, Options{InitialMmapSize: 1 << 20})
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace data file: incoming file: %w", err)
	}
	if err := check.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace data file: incoming file: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// The old file stays open (a renamed-over file lives on while open,
	// and its lock is its own) until its open snapshots are released.
	if err := os.Rename(tmp, s.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace data file: %w", err) // the old data stays in service
	}
	if s.db != nil {
		s.retire(s.db)
		s.db = nil
	}
	if err := fsutil.SyncDir(filepath.Dir(s.path)); err != nil {
		return fmt.Errorf("replace data file: %w", err)
	}
	db, err := openDB(s.path, s.opts)
	if err != nil {
		return fmt.Errorf("replace data file: reopen: %w", err)
	}
	s.db = db
	return nil
}

// retire closes the handle of a replaced data file once no snapshot reads
// it any more; Close waits for that.
func (s *Store) retire(db *bolt.DB) {
	s.retired.Add(1)
	go func() {
		defer s.retired.Done()
		// An error closing a file already replaced leaves nothing to do:
		// its data is no longer the store's.
		_ = db.Close()
	}()
}

func writeFileSynced(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ResetAppliedIndex sets the applied index to zero. A node that starts a new
// Raft cluster on existing data (after a restore, or with a seeded file) calls
// it, because the new log's indexes start again from one.
func (s *Store) ResetAppliedIndex() error {
	return s.Update(func(w *WriteTx) error { return w.SetAppliedIndex(0) })
}

// Digest is a SHA-256 over every bucket's keys and values except the applied
// index, which legitimately differs between nodes holding identical data. Two
// stores with the same digest serve the same answers.
func (s *Store) Digest() (string, error) {
	h := sha256.New()
	// Each key and value goes in with its length in front, so no two
	// different contents hash the same bytes. Binary lengths into one
	// reused buffer, not fmt: a digest of 50,000 messages under -race
	// spent most of its 1.5 s in fmt (the snapshot catch-up test polls
	// three of them at a time).
	var buf []byte
	err := s.View(func(r *ReadTx) error {
		for _, name := range allBuckets {
			h.Write(name)
			h.Write([]byte{0})
			err := r.tx.Bucket(name).ForEach(func(k, v []byte) error {
				if bytes.Equal(name, bucketMeta) && bytes.Equal(k, metaApplied) {
					return nil
				}
				buf = binary.AppendUvarint(buf[:0], uint64(len(k)))
				buf = append(buf, k...)
				buf = binary.AppendUvarint(buf, uint64(len(v)))
				buf = append(buf, v...)
				h.Write(buf)
				return nil
			})
			if err != nil {
				return err
			}
		}
		// Sequences decide future ids, so they are part of the state.
		fmt.Fprintf(h, "seq:%d:%d", r.users.Sequence(), r.messages.Sequence())
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
