package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"minitwit/node"
	"minitwit/node/nodetest"
	"minitwit/ops"
	"minitwit/ops/testwait"
	"minitwit/raftfsm"
	"minitwit/store"
)

// TestClusterCARotate: `cluster ca --rotate` on a real three-node cluster
// under writes through every member: no write fails, every acknowledged
// one is read on every member; when the command returns every member's
// certificate (and the one in its data dir) chains to the new CA only and
// no member trusts the old one; a member's certificate of the old CA opens
// nothing on any member, on a new connection or on one opened before the
// rotation; `cluster status` and `cluster ca` name the new CA; a node joins
// after the rotation and gets a certificate of the new CA.
func TestClusterCARotate(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, webHandler, 3)
	var before store.ClusterSecrets
	nodes[0].LocalStore().View(func(r *store.ReadTx) error { before = r.Secrets(); return nil })
	oldFP := node.CAPEMFingerprint(before.CACert)

	// node2's identity before the rotation, copied aside: a certificate of
	// the old CA for a member's id.
	stale := t.TempDir()
	caCopyTLS(t, nodes[1].DataDir(), stale)
	staleClient, err := node.NewClusterClient(stale)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	for _, n := range nodes { // opens a kept-alive connection to each
		if _, err := staleClient.Members(ctx, n.RaftAddr()); err != nil {
			t.Fatalf("node2's certificate before the rotation, at %s: %v", n.ID(), err)
		}
	}

	// Writes through every member for the whole rotation.
	var (
		mu    sync.Mutex
		acked []string
		fails []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", i, j)
				wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
				res, err := n.Propose(wctx, &raftfsm.Register{Username: name, Email: name + "@example.com", PasswordHash: "h"})
				wcancel()
				if err == nil {
					err = res.Err
				}
				mu.Lock()
				if err != nil {
					fails = append(fails, fmt.Sprintf("%s through %s: %v", name, n.ID(), err))
				} else {
					acked = append(acked, name)
				}
				mu.Unlock()
			}
		}()
	}
	testwait.Until(t, "writes under way", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 10 })

	stdout, stderr, code := runCLI("cluster", "--data-dir", nodes[1].DataDir(), "--addr", nodes[1].RaftAddr(), "--timeout", "2m", "ca", "--rotate")
	newFP := strings.TrimSpace(stdout)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(newFP) || newFP == oldFP || !strings.Contains(stderr, "cluster CA rotated") {
		close(stop)
		wg.Wait()
		t.Fatalf("ca --rotate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Writes go on after it, too.
	mu.Lock()
	n0 := len(acked)
	mu.Unlock()
	testwait.Until(t, "writes after the rotation", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= n0+10 })
	close(stop)
	wg.Wait()
	if len(fails) > 0 {
		t.Fatalf("%d of %d writes failed during the CA rotation, first: %s", len(fails), len(fails)+len(acked), fails[0])
	}
	for _, n := range nodes {
		st, err := n.ReadStore(ctx)
		if err != nil {
			t.Fatalf("%s: %v", n.ID(), err)
		}
		st.View(func(r *store.ReadTx) error {
			for _, name := range acked {
				if _, err := r.UserByName(name); err != nil {
					t.Errorf("%s: acknowledged write %s: %v", n.ID(), name, err)
					break
				}
			}
			return nil
		})
	}

	// When the command returned, every member follows the new CA only.
	for _, n := range nodes {
		c := nodetest.ClusterClient(t, n)
		rep, err := c.Members(ctx, n.RaftAddr())
		if err != nil {
			t.Fatalf("%s with its own certificate: %v", n.ID(), err)
		}
		if rep.CA == nil || rep.CA.Cert != newFP || rep.CA.Current != newFP || len(rep.CA.Trusted) != 1 || rep.CA.Trusted[0] != newFP || rep.CA.Rotating() {
			t.Errorf("%s's CA state after the rotation: %+v, want only %s", n.ID(), rep.CA, newFP)
		}
		checkChainsTo(t, n.DataDir(), newFP, oldFP)
	}
	var after store.ClusterSecrets
	nodes[2].LocalStore().View(func(r *store.ReadTx) error { after = r.Secrets(); return nil })
	if string(after.CAKey) == string(before.CAKey) || after.CAPrevCert != nil || after.CANextCert != nil {
		t.Error("the replicated state still holds the old CA")
	}

	// A certificate of the old CA opens nothing: on the connections opened
	// before, and on new ones (the copy now trusts the new CA, so the
	// member's answer is what refuses it).
	for _, n := range nodes {
		if _, err := staleClient.Members(ctx, n.RaftAddr()); err == nil {
			t.Errorf("%s answers node2's old-CA certificate on a connection from before the rotation", n.ID())
		}
	}
	newCA, err := os.ReadFile(filepath.Join(nodes[1].DataDir(), "tls", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "tls", "ca.crt"), append(before.CACert, newCA...), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, err := node.NewClusterClient(stale)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if _, err := fresh.Members(ctx, n.RaftAddr()); err == nil {
			t.Errorf("%s answers node2's old-CA certificate on a new connection", n.ID())
		}
		if _, err := fresh.Token(ctx, n.RaftAddr()); err == nil {
			t.Errorf("%s gives the join token to node2's old-CA certificate", n.ID())
		}
		if res, err := fresh.Proposer(n.RaftAddr()).Propose(ctx, &raftfsm.Register{Username: "intruder", Email: "i@x", PasswordHash: "h"}); err == nil && res.Err == nil {
			t.Errorf("%s takes a write from node2's old-CA certificate", n.ID())
		}
	}

	// The CLI shows it: `cluster ca` always, `cluster status` only while
	// rotating.
	if out, errOut, code := runCLI("cluster", "--data-dir", nodes[0].DataDir(), "--addr", nodes[0].RaftAddr(), "status"); code != 0 ||
		strings.Contains(out+errOut, "cluster CA") {
		t.Errorf("cluster status after the rotation: exit %d, %q %q", code, out, errOut)
	}
	if out, _, code := runCLI("cluster", "--data-dir", nodes[0].DataDir(), "--addr", nodes[0].RaftAddr(), "ca"); code != 0 || strings.TrimSpace(out) != "cluster CA: "+newFP[:16] {
		t.Errorf("cluster ca: exit %d, %q", code, out)
	}

	// A member restarted with its data dir comes back with the new CA.
	restartCfg := nodes[2].Config()
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := nodes[2].Close(cctx); err != nil {
		t.Fatal(err)
	}
	ccancel()
	restarted := nodetest.Start(t, webHandler, restartCfg)
	checkChainsTo(t, restarted.DataDir(), newFP, oldFP)
	if res, err := restarted.Propose(ctx, &raftfsm.Register{Username: "after-restart", Email: "a@r", PasswordHash: "h"}); err != nil || res.Err != nil {
		t.Errorf("a write through the member restarted after the rotation: %v %v", err, res.Err)
	}

	// A join after the rotation.
	cfg := nodetest.Config(t.TempDir())
	cfg.NodeID, cfg.JoinToken, cfg.Join = "node4", nodetest.ClusterToken, []string{restarted.RaftAddr()}
	joined, err := node.Start(cfg, node.Options{Handler: webHandler, Logger: nodetest.Logger(), Build: ops.NewBuildInfo("test", "", "")})
	if err != nil {
		t.Fatalf("a join after the CA rotation: %v", err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = joined.Close(cctx)
	})
	if err := joined.WaitReady(ctx); err != nil {
		t.Fatalf("the node joined after the rotation is not ready: %v", err)
	}
	checkChainsTo(t, joined.DataDir(), newFP, oldFP)
	if res, err := joined.Propose(ctx, &raftfsm.Register{Username: "after-join", Email: "a@j", PasswordHash: "h"}); err != nil || res.Err != nil {
		t.Errorf("a write through the node joined after the rotation: %v %v", err, res.Err)
	}
}

// checkChainsTo checks that the node certificate in dataDir chains to the
// CA fingerprint want, that tls/ca.crt holds only that CA, and that the
// CA old is not in it.
func checkChainsTo(t *testing.T, dataDir, want, old string) {
	t.Helper()
	cas, err := node.TrustedCAsIn(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cas[old]; ok || len(cas) != 1 || cas[want] == nil {
		t.Errorf("%s trusts %d CAs (old one among them: %v), want only the new one", dataDir, len(cas), ok)
		return
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(cas[want])
	raw, err := os.ReadFile(filepath.Join(dataDir, "tls", "node.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("%s: node.crt is not PEM", dataDir)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("%s: the node certificate does not chain to the new CA: %v", dataDir, err)
	}
}

func caCopyTLS(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(to, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.crt", "node.crt", "node.key"} {
		caCopyFile(t, filepath.Join(from, "tls", f), filepath.Join(to, "tls", f))
	}
}

func caCopyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestClusterCARotateStopsAtADownMember: a rotation staged (step 1) when
// a member goes down: `cluster ca` says it is rotating, `cluster ca
// --rotate` finishes the rotation in progress but stops at step 1, names
// the member and exits 1; the cluster keeps serving writes meanwhile,
// trusting both CAs. Once the member is removed, the command run again
// finishes it (the same new CA). With the member down from the start, the
// command starts nothing (the format gate cannot hear from it).
func TestClusterCARotateStopsAtADownMember(t *testing.T) {
	t.Parallel()
	nodes := nodetest.StartCluster(t, webHandler, 3)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout)
	defer cancel()
	certPEM, keyPEM, err := node.NewClusterCA()
	if err != nil {
		t.Fatal(err)
	}
	staged := node.CAPEMFingerprint(certPEM)
	if res, err := nodes[1].Propose(ctx, &raftfsm.RotateCA{Step: raftfsm.CAStepStage, Cert: certPEM, Key: keyPEM}); err != nil || res.Err != nil {
		t.Fatalf("staging a CA: %v %v", err, res.Err)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := nodes[2].Close(cctx); err != nil {
		t.Fatal(err)
	}
	ccancel()
	dir, addr := nodes[0].DataDir(), nodes[0].RaftAddr()
	out, errOut, code := runCLI("cluster", "--data-dir", dir, "--addr", addr, "ca")
	if code != 0 || !strings.Contains(out, "rotating, step 1 of 3") || !strings.Contains(out, "next "+staged[:16]) {
		t.Errorf("cluster ca during the rotation: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = runCLI("cluster", "--data-dir", dir, "--addr", addr, "status")
	if code != 0 || !strings.Contains(out, "cluster CA: ") || !strings.Contains(out, "rotating, step 1 of 3") {
		t.Errorf("cluster status during the rotation: exit %d, %q %q", code, out, errOut)
	}
	_, stderr, code := runCLI("cluster", "--data-dir", dir, "--addr", addr, "--timeout", "3s", "ca", "--rotate")
	if code != 1 || !strings.Contains(stderr, "finishing the CA rotation in progress (step 1 of 3: new CA "+staged[:16]) ||
		!strings.Contains(stderr, "step 1 of 3: timed out waiting for every member to trust the new CA: node3 (unreachable") ||
		!strings.Contains(stderr, "run 'minitwit cluster ca --rotate' again") {
		t.Fatalf("ca --rotate with node3 down: exit %d, %q", code, stderr)
	}
	for _, n := range nodes[:2] {
		if res, err := n.Propose(ctx, &raftfsm.Register{Username: "during-" + n.ID(), Email: n.ID() + "@d", PasswordHash: "h"}); err != nil || res.Err != nil {
			t.Errorf("a write through %s with the rotation stopped at step 1: %v %v", n.ID(), err, res.Err)
		}
	}

	if _, stderr, code := runCLI("cluster", "--data-dir", dir, "--addr", addr, "remove", "node3"); code != 0 {
		t.Fatalf("cluster remove node3: exit %d, %q", code, stderr)
	}
	stdout, stderr, code := runCLI("cluster", "--data-dir", dir, "--addr", addr, "--timeout", "2m", "ca", "--rotate")
	if code != 0 || strings.TrimSpace(stdout) != staged || !strings.Contains(stderr, "finishing the CA rotation in progress") {
		t.Fatalf("ca --rotate again: exit %d, stdout %q, stderr %q; want the staged CA %s finished", code, stdout, stderr, staged)
	}
	for _, n := range nodes[:2] {
		checkChainsTo(t, n.DataDir(), staged, "")
		if res, err := n.Propose(ctx, &raftfsm.Register{Username: "after-" + n.ID(), Email: n.ID() + "@a", PasswordHash: "h"}); err != nil || res.Err != nil {
			t.Errorf("a write through %s after the rotation: %v %v", n.ID(), err, res.Err)
		}
	}
}
