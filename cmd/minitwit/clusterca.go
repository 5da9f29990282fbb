package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"minitwit/node"
	"minitwit/node/nodeinfo"
	"minitwit/raftfsm"
)

// `minitwit cluster ca --rotate`: the three steps of a CA rotation
// (node/cluster/DESIGN.md), each proposed only once every member has
// followed the one before, as each reports in its /members answer:
//
//  1. stage a new CA (made here): wait until every member trusts it;
//  2. switch to it: wait until every member presents a certificate of it;
//  3. retire the old one: wait until no member trusts it.
//
// A rotation found in progress (an earlier run that timed out) is
// finished, not started again. The tool speaks with the local node's
// certificate and CAs, read from its data dir: it reads them again after
// steps 1 and 2, when the local node has written the new ones there.

// caStepPoll is how often the members are asked whether they have
// followed a step.
const caStepPoll = 100 * time.Millisecond

func rotateCA(ctx context.Context, dataDir, addr string, stdout, stderr io.Writer) error {
	client, err := node.NewClusterClient(dataDir)
	if err != nil {
		return err
	}
	rep, err := client.Members(ctx, addr)
	if err != nil {
		return err
	}
	if rep.CA == nil {
		return errors.New("the member predates CA rotation: upgrade every node first")
	}
	st := *rep.CA
	next, current := st.Next, st.Current
	switch {
	case st.Previous != "":
		fmt.Fprintf(stderr, "finishing the CA rotation in progress (step 2 of 3: new CA %s)\n", caShort(st.Current))
		return finishCARotation(ctx, dataDir, addr, st.Current, st.Previous, stdout, stderr)
	case next != "":
		fmt.Fprintf(stderr, "finishing the CA rotation in progress (step 1 of 3: new CA %s)\n", caShort(next))
	default:
		certPEM, keyPEM, err := node.NewClusterCA()
		if err != nil {
			return err
		}
		if err := proposeCAStep(ctx, client, addr, raftfsm.CAStepStage, certPEM, keyPEM); err != nil {
			return fmt.Errorf("staging the new CA: %w", err)
		}
		next = node.CAPEMFingerprint(certPEM)
		fmt.Fprintf(stderr, "step 1 of 3: new CA %s staged; waiting for every member to trust it\n", caShort(next))
	}
	if err := waitMembersCA(ctx, client, addr, 1, "trust the new CA", func(m node.CAState) bool { return slices.Contains(m.Trusted, next) }); err != nil {
		return err
	}
	// The local node trusts it now, and wrote it to its data dir: the
	// members present certificates of it from the next step on.
	if client, err = node.NewClusterClient(dataDir); err != nil {
		return err
	}
	nextPEM, err := caPEMIn(dataDir, next)
	if err != nil {
		return err
	}
	if err := proposeCAStep(ctx, client, addr, raftfsm.CAStepSwitch, nextPEM, nil); err != nil {
		return fmt.Errorf("switching to the new CA: %w", err)
	}
	fmt.Fprintf(stderr, "step 2 of 3: the new CA issues certificates; waiting for every member to present one\n")
	return finishCARotation(ctx, dataDir, addr, next, current, stdout, stderr)
}

// finishCARotation waits for every member to present a certificate of CA
// current, then retires CA previous.
func finishCARotation(ctx context.Context, dataDir, addr, current, previous string, stdout, stderr io.Writer) error {
	client, err := node.NewClusterClient(dataDir)
	if err != nil {
		return err
	}
	if err := waitMembersCA(ctx, client, addr, 2, "present a certificate of the new CA", func(m node.CAState) bool { return m.Cert == current }); err != nil {
		return err
	}
	// The local node's certificate is of the new CA now: read it again,
	// the old one is about to open nothing.
	if client, err = node.NewClusterClient(dataDir); err != nil {
		return err
	}
	prevPEM, err := caPEMIn(dataDir, previous)
	if err != nil {
		return err
	}
	if err := proposeCAStep(ctx, client, addr, raftfsm.CAStepRetire, prevPEM, nil); err != nil {
		return fmt.Errorf("retiring the old CA: %w", err)
	}
	fmt.Fprintf(stderr, "step 3 of 3: old CA %s retired; waiting for every member to drop it\n", caShort(previous))
	if err := waitMembersCA(ctx, client, addr, 3, "stop trusting the old CA", func(m node.CAState) bool { return !slices.Contains(m.Trusted, previous) }); err != nil {
		return err
	}
	fmt.Fprintln(stdout, current)
	fmt.Fprintf(stderr, "cluster CA rotated: every member presents and trusts only %s\n", caShort(current))
	return nil
}

func proposeCAStep(ctx context.Context, c *node.ClusterClient, addr string, step uint8, cert, key []byte) error {
	res, err := c.Proposer(addr).Propose(ctx, &raftfsm.RotateCA{Step: step, Cert: cert, Key: key})
	if err == nil {
		err = res.Err
	}
	return err
}

// waitMembersCA waits until every member's CA state satisfies ok; on
// timeout it names the members that did not.
func waitMembersCA(ctx context.Context, c *node.ClusterClient, addr string, step int, what string, ok func(node.CAState) bool) error {
	var behind []string // as the last round that ended before the deadline saw it
	for {
		var round []string
		rep, err := c.Members(ctx, addr)
		if err != nil {
			round = append(round, fmt.Sprintf("the member list (%v)", err))
		}
		for _, m := range rep.Members {
			mr, err := c.Members(ctx, m.Address)
			switch {
			case err != nil:
				round = append(round, fmt.Sprintf("%s (unreachable: %v)", m.ID, err))
			case mr.CA == nil:
				round = append(round, m.ID+" (predates CA rotation)")
			case !ok(*mr.CA):
				round = append(round, m.ID)
			}
		}
		if len(round) == 0 && len(rep.Members) > 0 {
			return nil
		}
		if ctx.Err() == nil || behind == nil {
			behind = round
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("step %d of 3: timed out waiting for every member to %s: %s; the cluster works meanwhile (it trusts both CAs), bring the member back or remove it, then run 'minitwit cluster ca --rotate' again to finish",
				step, what, strings.Join(behind, ", "))
		case <-time.After(caStepPoll):
		}
	}
}

// caPEMIn finds the CA fingerprint fp among those the local node's data
// dir trusts.
func caPEMIn(dataDir, fp string) ([]byte, error) {
	cas, err := node.TrustedCAsIn(dataDir)
	if err != nil {
		return nil, err
	}
	if p, ok := cas[fp]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("CA %s is not in %s's tls/ca.crt (the local node has not followed the rotation)", caShort(fp), dataDir)
}

// caLine describes a member's view of the cluster CA, as the admin page
// shows it too (nodeinfo.CA).
func caLine(st node.CAState) string {
	return nodeinfo.CA{Current: st.Current, Next: st.Next, Previous: st.Previous}.String()
}

// caShort is the part of a fingerprint shown to people (SHA-256, hex).
func caShort(fp string) string { return nodeinfo.Short(fp) }
