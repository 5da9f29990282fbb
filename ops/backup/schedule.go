package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Target is where scheduled backups are kept: a local folder or an
// S3-compatible bucket.
type Target interface {
	// String names the target for logs ("folder /var/backups", "s3 bucket/prefix").
	String() string
	// Put stores size bytes read from r under name.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// List returns the names of the backups stored there.
	List(ctx context.Context) ([]string, error)
	// Delete removes the named backup.
	Delete(ctx context.Context, name string) error
}

// Backup file names carry what retention and "unchanged" need, so that
// any node that becomes leader can read them off the target:
// minitwit-<UTC time>-<index>.mtb.
var nameRE = regexp.MustCompile(`^minitwit-(\d{8}T\d{6}Z)-(\d+)\.mtb$`)

const nameTime = "20060102T150405Z"

// FileName is the name of a backup taken at t of the state at index.
func FileName(t time.Time, index uint64) string {
	return fmt.Sprintf("minitwit-%s-%d.mtb", t.UTC().Format(nameTime), index)
}

func parseName(name string) (t time.Time, index uint64, ok bool) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, 0, false
	}
	t, err := time.Parse(nameTime, m[1])
	if err != nil {
		return time.Time{}, 0, false
	}
	index, err = strconv.ParseUint(m[2], 10, 64)
	return t, index, err == nil
}

// Scheduler takes backups every Interval while this node leads, skips them
// when the state has not changed since the newest backup in the first
// target, writes each to every target, and deletes backups older than Keep.
type Scheduler struct {
	Interval time.Duration
	Keep     time.Duration
	Targets  []Target
	// Leading tells whether this node should take backups now.
	Leading func() bool
	// Index is the state's current Raft index.
	Index func() uint64
	// Take writes a backup of the current state.
	Take func(ctx context.Context, w io.Writer) (Header, error)
	// Key, when set, encrypts every backup (encrypt.go) before it leaves
	// TempDir.
	Key *Key
	// TempDir holds a backup while it is checked and uploaded.
	TempDir string
	Log     *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	status Status
}

// Status is what the admin page and the metrics show.
type Status struct {
	LastGood    time.Time // when the last backup was stored everywhere
	LastGoodKey string
	// LastOK is when a tick last ended with every target holding the
	// current state, stored then or found there (nothing changed): on a
	// quiet cluster LastGood ages while the backups are still current.
	LastOK      time.Time
	LastError   string // the last failure, "" after a success
	LastErrorAt time.Time
	Failures    int // since start
	Skipped     int // ticks that found nothing changed
}

// Status reports the scheduler's progress.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Run takes backups until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.Leading() {
			continue
		}
		if err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("scheduled backup failed", "err", err.Error())
		}
	}
}

// RunOnce takes one scheduled backup now (unless nothing changed) and
// applies retention. It returns what failed, also recorded in Status.
func (s *Scheduler) RunOnce(ctx context.Context) error {
	err := s.runOnce(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.status.LastError, s.status.LastErrorAt = err.Error(), s.now()
		s.status.Failures++
	}
	return err
}

func (s *Scheduler) runOnce(ctx context.Context) error {
	if len(s.Targets) == 0 {
		return errors.New("no backup target configured")
	}
	// Unchanged only if every target already holds a backup of the current
	// state: a target whose last upload failed gets one at the next tick.
	current := s.Index()
	unchanged := true
	for _, t := range s.Targets {
		names, err := t.List(ctx)
		if err != nil {
			return fmt.Errorf("listing %s: %w", t, err)
		}
		has := false
		for _, n := range names {
			if _, idx, ok := parseName(n); ok && idx == current {
				has = true
				break
			}
		}
		unchanged = unchanged && has
	}
	if unchanged {
		s.mu.Lock()
		s.status.Skipped++
		s.status.LastOK = s.now()
		s.mu.Unlock()
		s.Log.Debug("scheduled backup skipped: nothing changed", "index", current)
		return s.prune(ctx)
	}

	f, err := os.CreateTemp(s.TempDir, "backup-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var w io.Writer = f
	var ew io.WriteCloser
	if s.Key != nil {
		if ew, err = Encrypt(f, s.Key); err != nil {
			return err
		}
		w = ew
	}
	h, err := s.Take(ctx, w)
	if err == nil && ew != nil {
		err = ew.Close()
	}
	if err != nil {
		return fmt.Errorf("taking the backup: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// Decrypted again here, so what is stored is known to open with the key.
	r, err := Open(f, s.Key)
	if err == nil {
		_, err = Read(r, io.Discard)
	}
	if err != nil {
		return fmt.Errorf("the backup just taken does not check out: %w", err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	name := FileName(h.Created, h.Index)
	for _, t := range s.Targets {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := t.Put(ctx, name, f, size); err != nil {
			return fmt.Errorf("storing %s in %s: %w", name, t, err)
		}
	}
	s.mu.Lock()
	s.status.LastGood, s.status.LastGoodKey, s.status.LastError = s.now(), name, ""
	s.status.LastOK = s.status.LastGood
	s.mu.Unlock()
	s.Log.Info("backup stored", "name", name, "index", h.Index, "bytes", size, "targets", len(s.Targets), "encrypted", s.Key != nil)
	return s.prune(ctx)
}

// prune deletes backups older than Keep from every target, always keeping
// the newest one.
func (s *Scheduler) prune(ctx context.Context) error {
	cutoff := s.now().Add(-s.Keep)
	for _, t := range s.Targets {
		names, err := t.List(ctx)
		if err != nil {
			return fmt.Errorf("listing %s: %w", t, err)
		}
		var ours []string
		for _, n := range names {
			if _, _, ok := parseName(n); ok {
				ours = append(ours, n)
			}
		}
		slices.Sort(ours) // by time: the names sort chronologically
		for i, n := range ours {
			taken, _, _ := parseName(n)
			if i == len(ours)-1 || !taken.Before(cutoff) {
				continue
			}
			if err := t.Delete(ctx, n); err != nil {
				return fmt.Errorf("deleting %s from %s: %w", n, t, err)
			}
			s.Log.Info("old backup deleted", "name", n, "target", t.String())
		}
	}
	return nil
}

// Folder keeps backups in a local directory.
type Folder struct{ Dir string }

func (f Folder) String() string { return "folder " + f.Dir }

// Put writes the backup beside its final name, syncs it and renames it.
func (f Folder) Put(_ context.Context, name string, r io.Reader, _ int64) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(f.Dir, "."+name+".tmp")
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	_, err = io.Copy(out, r)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(f.Dir, name))
}

func (f Folder) List(context.Context) ([]string, error) {
	entries, err := os.ReadDir(f.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, err
}

func (f Folder) Delete(_ context.Context, name string) error {
	return os.Remove(filepath.Join(f.Dir, name))
}
