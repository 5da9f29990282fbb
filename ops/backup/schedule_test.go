package backup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"minitwit/ops/backup"
)

// fakeS3 is an S3 server in this process (gofakes3) with one bucket.
func fakeS3(t *testing.T) *backup.S3 {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	s3, err := backup.NewS3(backup.S3Options{
		Endpoint: strings.TrimPrefix(srv.URL, "http://"), Bucket: "backups", Prefix: "minitwit/",
		Region: "us-east-1", AccessKey: "key", SecretKey: "secret", Insecure: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s3
}

// TestScheduler: backups appear in every target, a tick with nothing new
// is skipped, retention deletes what is older than Keep (never the newest),
// and a follower takes none.
func TestScheduler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	folder := backup.Folder{Dir: t.TempDir()}
	s3 := fakeS3(t)
	var index atomic.Uint64
	index.Store(10)
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	s := &backup.Scheduler{
		Interval: time.Hour, Keep: 36 * time.Hour,
		Targets: []backup.Target{folder, s3},
		Leading: func() bool { return true },
		Index:   index.Load,
		Take: func(_ context.Context, w io.Writer) (backup.Header, error) {
			data := bytes.Repeat([]byte{byte(index.Load())}, 1000)
			h := backup.Header{Index: index.Load(), Created: now, Node: "node1", Size: int64(len(data))}
			return h, backup.Write(w, h, bytes.NewReader(data))
		},
		TempDir: t.TempDir(),
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:     func() time.Time { return now },
	}
	list := func(tg backup.Target) []string {
		names, err := tg.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		return names
	}
	// Three backups a day apart, the state changing each time.
	for day := range 3 {
		now = time.Date(2026, 11, 26+day, 3, 0, 0, 0, time.UTC)
		index.Add(5)
		if err := s.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{backup.FileName(time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC), 20), backup.FileName(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC), 25)}
	for _, tg := range []backup.Target{folder, s3} {
		if got := list(tg); !slices.Equal(got, want) {
			t.Errorf("%s holds %q, want %q (the first is past retention)", tg, got, want)
		}
	}
	st := s.Status()
	if st.LastGoodKey != want[1] || st.LastError != "" || st.Failures != 0 || !st.LastOK.Equal(st.LastGood) {
		t.Errorf("status %+v", st)
	}

	// Nothing changed: skipped.
	now = now.Add(time.Hour)
	if err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := list(folder); len(got) != 2 || s.Status().Skipped != 1 {
		t.Errorf("an unchanged state was backed up again: %q, status %+v", got, s.Status())
	}
	// ... but the backups are current as of now (what the backup alert reads).
	if st := s.Status(); !st.LastOK.Equal(now) || !st.LastGood.Equal(now.Add(-time.Hour)) {
		t.Errorf("after an unchanged tick: last ok %v, last good %v; want %v and an hour before", st.LastOK, st.LastGood, now)
	}

	// Much later, still unchanged: the old one goes, the newest stays.
	now = now.Add(30 * 24 * time.Hour)
	s.RunOnce(ctx)
	if got := list(s3); !slices.Equal(got, want[1:]) {
		t.Errorf("after a month: %q, want only the newest %q", got, want[1:])
	}

	// A stored backup restores.
	var buf bytes.Buffer
	if err := s3Get(ctx, s3, want[1], &buf); err != nil {
		t.Fatal(err)
	}

	// A follower's scheduler does nothing.
	s.Leading = func() bool { return false }
	runCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	s.Interval = 10 * time.Millisecond
	index.Add(1)
	s.Run(runCtx)
	if got := list(folder); len(got) != 1 {
		t.Errorf("a follower took backups: %q", got)
	}
}

// s3Get reads a backup back from the bucket and checks it.
func s3Get(ctx context.Context, s3 *backup.S3, name string, w io.Writer) error {
	r, err := s3.Open(ctx, name)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = backup.Read(r, w)
	return err
}

// failingOnce is a folder whose first Put fails.
type failingOnce struct {
	backup.Folder
	failed atomic.Bool
}

func (f *failingOnce) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("the bucket is down")
	}
	return f.Folder.Put(ctx, name, r, size)
}

// TestSchedulerRetriesATargetThatFailed: when one target's upload fails,
// the next tick stores the (unchanged) state there instead of skipping.
func TestSchedulerRetriesATargetThatFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good, flaky := backup.Folder{Dir: t.TempDir()}, &failingOnce{Folder: backup.Folder{Dir: t.TempDir()}}
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	s := &backup.Scheduler{
		Interval: time.Hour, Keep: 24 * time.Hour, Targets: []backup.Target{good, flaky},
		Leading: func() bool { return true }, Index: func() uint64 { return 7 },
		Take: func(_ context.Context, w io.Writer) (backup.Header, error) {
			h := backup.Header{Index: 7, Created: now, Node: "n", Size: 3}
			return h, backup.Write(w, h, bytes.NewReader([]byte("abc")))
		},
		TempDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now },
	}
	if err := s.RunOnce(ctx); err == nil {
		t.Fatal("the failed upload was not reported")
	}
	now = now.Add(time.Hour)
	if err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if names, _ := flaky.List(ctx); len(names) != 1 {
		t.Fatalf("the target that failed holds %v after the next tick", names)
	}
}

// TestSchedulerEncrypts: with a key, what lands in the folder and in the
// bucket is encrypted (no plain header in it) and opens with that key only.
func TestSchedulerEncrypts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	folder := backup.Folder{Dir: t.TempDir()}
	s3 := fakeS3(t)
	key := newKey(t)
	data := bytes.Repeat([]byte("timeline "), 500)
	s := &backup.Scheduler{
		Interval: time.Hour, Keep: time.Hour,
		Targets: []backup.Target{folder, s3},
		Leading: func() bool { return true },
		Index:   func() uint64 { return 3 },
		Take: func(_ context.Context, w io.Writer) (backup.Header, error) {
			h := backup.Header{Index: 3, Created: time.Now().UTC(), Node: "node1", Size: int64(len(data))}
			return h, backup.Write(w, h, bytes.NewReader(data))
		},
		Key:     key,
		TempDir: t.TempDir(),
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	names, err := folder.List(ctx)
	if err != nil || len(names) != 1 {
		t.Fatalf("folder holds %v (%v)", names, err)
	}
	local, err := os.ReadFile(filepath.Join(folder.Dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s3.Open(ctx, names[0])
	if err != nil {
		t.Fatal(err)
	}
	remote, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	for where, file := range map[string][]byte{"folder": local, "s3": remote} {
		if bytes.Contains(file, []byte("MTWTBKUP")) || bytes.Contains(file, []byte("timeline")) {
			t.Errorf("%s: the backup is stored in the clear", where)
		}
		if got, err := readWith(file, key); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: read back %d bytes, %v", where, len(got), err)
		}
		if _, err := readWith(file, nil); !errors.Is(err, backup.ErrEncrypted) {
			t.Errorf("%s without the key: %v", where, err)
		}
	}
}
