//go:build e2e

package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/simulate"
)

// BenchmarkBackupRestore measures `minitwit backup` (from a stopped node's
// data dir) and `minitwit restore` on the state the course scenario leaves
// and on a generated 1,000,000-message state: time and size. Run it with
//
//	go test -tags e2e -run '^$' -bench BackupRestore -benchtime 3x ./cmd/minitwit/
func BenchmarkBackupRestore(b *testing.B) {
	b.Run("scenario", func(b *testing.B) {
		f, err := os.Open(nodetest.SharedData(b, "minitwit_scenario.csv"))
		if err != nil {
			b.Fatal(err)
		}
		actions, err := simulate.ParseScenario(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		s := startServer(b, dir)
		if sum, err := simulate.Run(context.Background(), actions, simulate.Options{BaseURL: s.base + "/api", Concurrency: 16, Timeout: 5 * time.Second}); err != nil || sum.Errors != 0 {
			b.Fatalf("replay: %v, %d errors", err, sum.Errors)
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		if err := s.wait(b); err != nil {
			b.Fatal(err)
		}
		benchBackupRestore(b, dir)
	})
	b.Run("1M-messages", func(b *testing.B) {
		_, cache := seededAtScale(b)
		dir := b.TempDir()
		copyFile(b, filepath.Join(cache, "minitwit.db"), filepath.Join(dir, "minitwit.db"))
		benchBackupRestore(b, dir)
	})
}

func benchBackupRestore(b *testing.B, dataDir string) {
	fi, err := os.Stat(filepath.Join(dataDir, "minitwit.db"))
	if err != nil {
		b.Fatal(err)
	}
	var backupTime, restoreTime time.Duration
	var size int64
	for i := 0; i < b.N; i++ {
		file := filepath.Join(b.TempDir(), "backup.mtb")
		out, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := node.BackupDataDir(dataDir, out); err != nil {
			b.Fatal(err)
		}
		out.Sync()
		backupTime += time.Since(t0)
		st, _ := out.Stat()
		size = st.Size()
		out.Close()

		in, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if _, err := node.RestoreDataDir(filepath.Join(b.TempDir(), "restored"), in); err != nil {
			b.Fatal(err)
		}
		restoreTime += time.Since(t0)
		in.Close()
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "datafile-MiB")
	b.ReportMetric(float64(size)/(1<<20), "backup-MiB")
	b.ReportMetric(backupTime.Seconds()/float64(b.N), "backup-s")
	b.ReportMetric(restoreTime.Seconds()/float64(b.N), "restore-s")
}
