//go:build e2e

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"minitwit/node/nodetest"
)

// BenchmarkServeAtScale starts `minitwit serve` on a generated data set of
// 10,000 users, 1,000,000 messages and 200,000 follows and reports: time
// from exec to ready, resident memory while serving, the data file's size,
// and HTTP latency of timeline pages. Run it with
//
//	go test -tags e2e -run '^$' -bench ServeAtScale -benchtime 1x ./cmd/minitwit/
func BenchmarkServeAtScale(b *testing.B) {
	spec, cache := seededAtScale(b)
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		copyFile(b, filepath.Join(cache, "minitwit.db"), filepath.Join(dir, "minitwit.db"))
		fi, _ := os.Stat(filepath.Join(dir, "minitwit.db"))

		start := time.Now()
		s := startServer(b, dir)
		startup := time.Since(start)

		// Serve: public pages (first and deep), user pages, the API list.
		var lat []time.Duration
		get := func(path string) {
			t0 := time.Now()
			resp, err := client.Get(s.base + path)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(t0))
			if resp.StatusCode != 200 {
				b.Fatalf("GET %s: %d", path, resp.StatusCode)
			}
		}
		for j := 0; j < 2000; j++ {
			switch j % 4 {
			case 0:
				get("/public")
			case 1:
				get("/public?before=" + strconv.Itoa(500_000+j))
			case 2:
				get("/user%20" + strconv.Itoa(j%spec.Users))
			case 3:
				get("/user%20" + strconv.Itoa(j%spec.Users) + "?before=" + strconv.Itoa(600_000))
			}
		}
		slices.Sort(lat)
		rss := rssMiB(b, s.cmd.Process.Pid)
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "Rss") {
				b.Log(l)
			}
		}
		b.ReportMetric(startup.Seconds(), "startup-s")
		b.ReportMetric(rss, "rss-MiB")
		b.ReportMetric(float64(fi.Size())/(1<<20), "datafile-MiB")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "page-p99-ms")
		s.cmd.Process.Kill()
		s.wait(b)
	}
}

// seededAtScale returns the generated data set of 10,000 users,
// 1,000,000 messages and 200,000 follows, made once and kept in the
// temporary dir (cache/minitwit.db) for later runs.
func seededAtScale(b *testing.B) (nodetest.SeedSpec, string) {
	b.Helper()
	spec := nodetest.SeedSpec{Users: 10_000, Messages: 1_000_000, Follows: 200_000}
	cache := filepath.Join(os.TempDir(), fmt.Sprintf("minitwit-seed-%d-%d-%d", spec.Users, spec.Messages, spec.Follows))
	if _, err := os.Stat(filepath.Join(cache, "complete")); err != nil {
		os.RemoveAll(cache)
		os.MkdirAll(cache, 0o700)
		if err := nodetest.Seed(cache, spec, nil); err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(cache, "complete"), nil, 0o600)
	}
	return spec, cache
}

func rssMiB(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func copyFile(b *testing.B, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	// Start cold, as after a reboot: drop the copy from the page cache, so
	// resident memory shows what serving touches, not what copying did.
	out.Sync()
	unix.Fadvise(int(out.Fd()), 0, 0, unix.FADV_DONTNEED)
	unix.Fadvise(int(in.Fd()), 0, 0, unix.FADV_DONTNEED)
	out.Close()
}
