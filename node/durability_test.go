package node_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops/testwait"
)

// TestTornMetaPagesAfterCrashAreRebuilt crashes a node during writes,
// zeroes both bbolt meta pages of its data file (what a power loss can
// leave in the no-fsync mode) and restarts it: the file is moved aside,
// rebuilt from the snapshot and the log, and every acknowledged write is
// served.
func TestTornMetaPagesAfterCrashAreRebuilt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := nodetest.Config(dir)
	cfg.API.MaxNo = 1_000_000
	n := nodetest.Start(t, web, cfg)
	testwait.Within(10*time.Second).Until(t, "the unsynced marker", func() bool {
		_, err := os.Stat(filepath.Join(dir, "data-file-unsynced"))
		return err == nil
	})
	register(t, n, "writer")
	acked := writeDuring(t, n, 8, 100)
	n.CrashForTest()

	zeroMetaPages(t, filepath.Join(dir, "minitwit.db"))
	n2 := nodetest.Start(t, web, cfg)
	have := messageTexts(t, "http://"+n2.HTTPAddr(), "writer")
	for _, text := range acked {
		if !have[text] {
			t.Errorf("acknowledged write lost: %q", text)
		}
	}
	if aside, _ := filepath.Glob(filepath.Join(dir, "minitwit.db.torn-*")); len(aside) != 1 {
		t.Errorf("the unusable data file was not kept aside: %v", aside)
	}
	t.Logf("%d acknowledged writes survived torn meta pages", len(acked))
}

// TestCorruptNewestSnapshotFallsBackToThePrevious crashes a node, breaks
// its newest snapshot's checksum and restarts it: the data file is rebuilt
// from the previous snapshot and the log after it, and nothing is lost.
func TestCorruptNewestSnapshotFallsBackToThePrevious(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := nodetest.Config(dir)
	n := nodetest.Start(t, web, cfg)
	testwait.Within(10*time.Second).Until(t, "the unsynced marker", func() bool {
		_, err := os.Stat(filepath.Join(dir, "data-file-unsynced"))
		return err == nil
	})
	base := "http://" + n.HTTPAddr()
	register(t, n, "writer")
	for round := range 3 {
		for i := range 10 {
			if s := apiPost(t, base, "/msgs/writer", map[string]string{"content": fmt.Sprintf("%d.%d", round, i)}); s != 204 {
				t.Fatalf("post: %d", s)
			}
		}
		if round < 2 {
			if err := n.SnapshotForTest(); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := digest(t, n)
	n.CrashForTest()

	newest := newestSnapshot(t, filepath.Join(dir, "raft", "snapshots"))
	state := filepath.Join(dir, "raft", "snapshots", newest, "state.bin")
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xFF
	if err := os.WriteFile(state, b, 0o600); err != nil {
		t.Fatal(err)
	}

	n2 := nodetest.Start(t, web, cfg)
	if digest(t, n2) != want {
		t.Fatal("state differs after falling back to the previous snapshot")
	}
	if _, err := os.Stat(filepath.Join(dir, "raft", "snapshots-bad", newest)); err != nil {
		t.Fatalf("the corrupt snapshot was not kept aside: %v", err)
	}
	if s := apiPost(t, "http://"+n2.HTTPAddr(), "/msgs/writer", map[string]string{"content": "after"}); s != 204 {
		t.Fatalf("post after the fallback: %d", s)
	}
}

// writeDuring has c clients post messages as "writer" until at least min
// were acknowledged, then returns what was acknowledged while
// writes are still running: the caller stops the node mid-write.
func writeDuring(t *testing.T, n *node.Node, c, min int) []string {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + n.HTTPAddr()
	for w := range c {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				text := fmt.Sprintf("w%d #%d", w, i)
				if postMessage(hc, base, "writer", text) == http.StatusNoContent {
					mu.Lock()
					acked = append(acked, text)
					mu.Unlock()
				}
			}
		})
	}
	testwait.Within(20*time.Second).Until(t, "acknowledged writes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= min
	})
	t.Cleanup(func() { close(stop); wg.Wait() })
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), acked...)
}

// zeroMetaPages overwrites pages 0 and 1 of a bbolt file, its two meta
// pages, with zeros. The page size is read from meta page 0 (page header
// 16 bytes, then magic, version, page size).
func zeroMetaPages(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr [28]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(hdr[24:]))
	if pageSize < 512 || pageSize > 1<<16 {
		t.Fatalf("implausible bbolt page size %d", pageSize)
	}
	if _, err := f.WriteAt(make([]byte, 2*pageSize), 0); err != nil {
		t.Fatal(err)
	}
}

// messageTexts reads every message of user through the simulator API.
func messageTexts(t *testing.T, base, user string) map[string]bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/msgs/"+url.PathEscape(user)+"?no=1000000", nil)
	req.Header.Set("Authorization", simAuth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []struct{ Content string }
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range msgs {
		out[m.Content] = true
	}
	return out
}

// newestSnapshot is the id of the snapshot with the highest index in dir.
func newestSnapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var best string
	var bestIndex uint64
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var meta struct{ Index uint64 }
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Index >= bestIndex {
			best, bestIndex = e.Name(), meta.Index
		}
	}
	if best == "" {
		t.Fatal("no snapshot")
	}
	return best
}
