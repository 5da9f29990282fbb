package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/cluster"
	"minitwit/node/nodetest"
	"minitwit/ops/testbuf"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

// heapInUse is the live heap after a collection.
func heapInUse() (inuse, alloc uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.HeapAlloc
}

// TestInternodePortBoundsUnauthenticatedPeers: 64 idle connections and a
// 256 MiB first join message cost the node less than 16 MiB of heap, and
// it keeps serving: writes and reads, and a legitimate join while the idle
// connections are held. Not parallel: it measures the process's heap.
func TestInternodePortBoundsUnauthenticatedPeers(t *testing.T) {
	n1 := nodetest.StartCluster(t, nil, 1)[0]
	register(t, n1, "before")
	inuse0, alloc0 := heapInUse()

	// 64 idle connections: half never start TLS, half finish the
	// handshake, ask to join, and say nothing more.
	var idle []net.Conn
	held := time.Now()
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for i := range 64 {
		var c net.Conn
		var err error
		if i%2 == 0 {
			c, err = net.Dial("tcp", n1.RaftAddr())
		} else {
			var tc *tls.Conn
			tc, err = tls.Dial("tcp", n1.RaftAddr(), &tls.Config{InsecureSkipVerify: true})
			if err == nil {
				_, err = tc.Write([]byte{'J'})
			}
			c = tc
		}
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}

	// A 256 MiB first join message, streamed from one 64 KiB chunk so the
	// sender (in this process) does not count against the node's heap.
	big, err := tls.Dial("tcp", n1.RaftAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	big.SetDeadline(time.Now().Add(60 * time.Second))
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	sent, writeErr := 0, error(nil)
	if _, writeErr = big.Write([]byte(`J{"node_id":"`)); writeErr == nil {
		for sent < 256<<20 {
			var k int
			k, writeErr = big.Write(chunk)
			sent += k
			if writeErr != nil {
				break
			}
		}
	}
	if writeErr == nil {
		t.Fatalf("the node read a 256 MiB first join message (%d bytes sent)", sent)
	}
	t.Logf("the node hung up after %d KiB of the oversized message: %v", sent>>10, writeErr)

	inuse1, alloc1 := heapInUse()
	grew := int64(inuse1) - int64(inuse0)
	t.Logf("heap in use %d -> %d KiB (alloc %d -> %d KiB)", inuse0>>10, inuse1>>10, alloc0>>10, alloc1>>10)
	if grew > 16<<20 || int64(alloc1)-int64(alloc0) > 16<<20 {
		t.Fatalf("heap grew by %d KiB (alloc by %d KiB) with unauthenticated peers connected",
			grew>>10, (int64(alloc1)-int64(alloc0))>>10)
	}

	// Still serving, with the idle connections held.
	register(t, n1, "during")
	if !nodetest.ReadUser(t, n1, "during") || !nodetest.ReadUser(t, n1, "before") {
		t.Fatal("the node lost a write")
	}
	cfg := nodetest.Config(t.TempDir())
	cfg.NodeID, cfg.JoinToken, cfg.Join = "node2", nodetest.ClusterToken, []string{n1.RaftAddr()}
	n2 := nodetest.Start(t, nil, cfg)
	t.Logf("node2 joined %s after the idle connections were opened", time.Since(held).Round(time.Millisecond))
	register(t, n2, "through node2")
	if !nodetest.ReadUser(t, n1, "through node2") {
		t.Fatal("a write through the node that joined is missing on the first node")
	}
}

// lockedBuffer is a log destination that a test reads while a node writes.
type lockedBuffer struct{ testbuf.Buffer }

// lines parses the JSON log lines written so far.
func (l *lockedBuffer) lines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestInternodePortBacksOffWrongTokens: after a wrong join token, further
// attempts from the same address are answered "retry in ..." without
// looking at the token, until the backoff has passed; the refusals make
// one aggregated log line per interval, not a WARN line each. The join
// that proved the token and never finished is removed after the bound.
func TestInternodePortBacksOffWrongTokens(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	cfg := nodetest.Config(t.TempDir())
	cfg.NodeID, cfg.JoinToken = "node1", nodetest.ClusterToken
	n := nodetest.StartWith(t, cfg, node.Options{
		Logger:             slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RefusalLogInterval: 200 * time.Millisecond,
		JoinerBound:        time.Second,
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	const wrongToken = "a-wrong-token-0123456789"
	// Wrong tokens until the address is backed off: every wrong token
	// doubles the wait (500 ms first), so within a few attempts even a
	// slow machine sees one.
	wrong, backedOff := 0, 0
	for backedOff == 0 {
		err := cluster.JoinAttemptForTest(ctx, n.RaftAddr(), wrongToken, "guesser")
		switch {
		case err != nil && strings.Contains(err.Error(), "refused: wrong join token"):
			wrong++
		case err != nil && strings.Contains(err.Error(), "too many wrong join tokens from this address; retry in"):
			backedOff++
		default:
			t.Fatalf("join attempt with a wrong token: %v", err)
		}
		if wrong > 8 {
			t.Fatal("8 wrong tokens in a row and no backoff")
		}
	}
	// While backed off, even the right token is not looked at.
	err := cluster.JoinAttemptForTest(ctx, n.RaftAddr(), nodetest.ClusterToken, "guesser")
	if err == nil || !strings.Contains(err.Error(), "retry in") {
		t.Fatalf("the right token during the backoff: %v", err)
	}
	backedOff++
	// Once the backoff has passed, the right token is accepted.
	for {
		err := cluster.JoinAttemptForTest(ctx, n.RaftAddr(), nodetest.ClusterToken, "guesser")
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "retry in") || ctx.Err() != nil {
			t.Fatalf("the right token after the backoff: %v", err)
		}
		backedOff++
		time.Sleep(100 * time.Millisecond)
	}

	// The refusals are summed up in aggregated lines, none per attempt.
	sum := func() (lines, wrong, off int) {
		for _, l := range logs.lines() {
			switch l["msg"] {
			case "internode port refused peers without a certificate":
				lines++
				w, _ := l["wrong_token"].(float64)
				o, _ := l["backed_off"].(float64)
				wrong, off = wrong+int(w), off+int(o)
			case "join refused":
				t.Fatalf("a refusal before the token was proven has a line of its own: %v", l)
			}
		}
		return
	}
	for {
		lines, gotWrong, gotOff := sum()
		if gotWrong == wrong && gotOff == backedOff {
			// At most one line per 200 ms interval (and the first).
			if most := int(time.Since(start)/(200*time.Millisecond)) + 1; lines > most {
				t.Fatalf("%d aggregated lines in %s", lines, time.Since(start))
			}
			break
		}
		if ctx.Err() != nil || gotWrong > wrong || gotOff > backedOff {
			t.Fatalf("aggregated log: %d lines, wrong_token %d (want %d), backed_off %d (want %d)",
				lines, gotWrong, wrong, gotOff, backedOff)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The joiner that proved the token is a member (a non-voter) at once,
	// and, since it never started Raft, is removed after the joiner bound;
	// the wrong tokens never made one.
	testwait.Until(t, "the joiner that never came up to be removed", func() bool { return len(n.Members()) == 1 })
}

// register registers name through n (a proposal, forwarded to the leader
// from a follower) and reads it back through n: the node writes and reads.
// An unavailable cluster (an election on a loaded machine) is retried.
func register(t *testing.T, n *node.Node, name string) {
	t.Helper()
	testwait.UntilNil(t, "registering "+name+" via "+n.ID(), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := n.Propose(ctx, &raftfsm.Register{Username: name, Email: name + "@example.com", PasswordHash: "x"})
		if err != nil {
			if errors.Is(err, node.ErrUnavailable) {
				return err
			}
			t.Fatalf("register %s via %s: %v", name, n.ID(), err)
		}
		if res.Err != nil && !errors.Is(res.Err, store.ErrNameTaken) {
			t.Fatalf("register %s via %s: %v", name, n.ID(), res.Err)
		}
		st, err := n.ReadStore(ctx)
		if err != nil {
			return err
		}
		return st.View(func(r *store.ReadTx) error { _, err := r.UserByName(name); return err })
	})
}

// TestNonMembersHoldFewRPCConnections: a certificate of the cluster CA
// whose node id is not a member (a removed node, a joiner past its bound)
// gets its not_member answer and then the connection is closed, and such
// peers hold no more open connections between them than peers without a
// certificate: 200 idle ones opened with it are cut down to the port
// guard's cap. (Found in the attack review: a removed node held 500 idle
// RPC connections, one descriptor each, for as long as it liked.)
func TestNonMembersHoldFewRPCConnections(t *testing.T) {
	n1 := nodetest.StartCluster(t, nil, 1)[0]
	stranger := certificateOfTheCA(t, n1, "stranger")
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()

	// One request: answered not_member, and the connection ends with it.
	c, err := cluster.RPCConnForTest(ctx, stranger, n1.RaftAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testwait.Timeout))
	if _, err := c.Write([]byte("GET /status HTTP/1.1\r\nHost: member\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "not_member") {
		t.Fatalf("a non-member's request: %d %s, want 403 not_member", resp.StatusCode, body)
	}
	if _, err := rd.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after answering a non-member the connection stayed open (read: %v)", err)
	}

	// 200 idle connections: all but the guard's cap are closed by the node.
	const opened = 200
	var closed atomic.Int32
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range opened {
		c, err := cluster.RPCConnForTest(ctx, stranger, n1.RaftAddr())
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		go func() {
			if _, err := c.Read(make([]byte, 1)); err != nil {
				closed.Add(1)
			}
		}()
	}
	testwait.Until(t, "the node to close the idle connections of a non-member beyond the port guard's cap", func() bool {
		return closed.Load() >= opened-64
	})
	register(t, n1, "still serving")
	if !nodetest.ReadUser(t, n1, "still serving") {
		t.Fatal("the node lost a write")
	}
}
