package store

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options tune how the data file is opened.
type Options struct {
	// InitialMmapSize reserves address space up front. A long read
	// transaction (a snapshot being streamed) blocks bbolt from growing its
	// mapping, so writes would stall behind it; reserving early avoids that.
	// Zero means 1 GiB.
	InitialMmapSize int
	// NoSync skips fsync on commit. A file written this way is only
	// trustworthy after Sync; the node uses it once a Raft snapshot exists,
	// and rebuilds the file from snapshot and log after an unclean stop.
	NoSync bool
}

// Store is the bbolt-backed data model. It is safe for concurrent use; the
// file can be swapped underneath readers by [Store.ReplaceWith].
type Store struct {
	path string
	opts Options

	mu sync.RWMutex // write-locked only while the file is swapped
	db *bolt.DB
	// retired counts replaced data files still open for their snapshots
	// (ReplaceWith); Close waits for them.
	retired sync.WaitGroup
}

// Open opens (creating if needed) the data file at path and makes sure every
// bucket exists and the schema is one this code understands.
func Open(path string, opts Options) (*Store, error) {
	if opts.InitialMmapSize == 0 {
		opts.InitialMmapSize = 1 << 30
	}
	db, err := openDB(path, opts)
	if err != nil {
		return nil, err
	}
	return &Store{path: path, opts: opts, db: db}, nil
}

func openDB(path string, opts Options) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         2 * time.Second,
		InitialMmapSize: opts.InitialMmapSize,
		NoSync:          opts.NoSync,
		FreelistType:    bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w; is another minitwit using this data dir?", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := initSchema(db); err != nil {
		_ = db.Close() // the schema error is the one to report
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

func initSchema(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := readU64(meta.Get(metaSchema)); {
		case v == 0:
			return meta.Put(metaSchema, u64(SchemaVersion))
		case v > SchemaVersion:
			return fmt.Errorf("%w (schema %d, this binary reads up to %d)", ErrNewerSchema, v, SchemaVersion)
		}
		return nil
	})
}

// Path is the data file's location.
func (s *Store) Path() string { return s.path }

// Close closes the data file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.retired.Wait()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

var errClosed = errors.New("store is closed")

// appendFillPercent is the page fill for append-only buckets.
const appendFillPercent = 0.95

// View runs fn in a read transaction: a consistent view of the data at one
// instant.
func (s *Store) View(fn func(*ReadTx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errClosed
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(newReadTx(tx)) })
}

// Update runs fn in one read-write transaction and commits it when fn
// returns nil (with fsync unless SetNoSync turned it off). Operations on the WriteTx that return a typed error
// change nothing, so fn may carry on after them; an error returned by fn
// rolls everything back.
func (s *Store) Update(fn func(*WriteTx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errClosed
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		w := &WriteTx{ReadTx: newReadTx(tx), tx: tx}
		// Users and messages get ever-growing ids, so inserts always land
		// at the end: fill pages almost completely instead of splitting
		// them in half (bbolt's default), which halves the file and the
		// pages a timeline touches.
		w.users.FillPercent = appendFillPercent
		w.messages.FillPercent = appendFillPercent
		return fn(w)
	})
}

// SetNoSync turns fsync on commit off or on for later transactions. It
// takes the writer lock, so no commit is in flight while it changes.
func (s *Store) SetNoSync(noSync bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errClosed
	}
	return s.db.Update(func(*bolt.Tx) error {
		s.db.NoSync = noSync
		s.opts.NoSync = noSync
		return nil
	})
}

// Sync flushes everything committed so far to disk.
func (s *Store) Sync() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return errClosed
	}
	return s.db.Sync()
}

// FileSize is the data file's size in bytes.
func (s *Store) FileSize() int64 {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
