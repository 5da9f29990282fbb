package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"minitwit/node/config"
	"minitwit/raftfsm"
	"minitwit/store"
)

// How the admin tools (import, admin, flag) reach a cluster: through the
// running node of a data dir over the internode port (ClusterClient's
// Proposer), or, when that node is stopped, by starting it here for the
// task (WithLocalNode).

// Proposer returns a Proposer that sends commands, over the internode port,
// to the leader of the cluster the node at addr belongs to: `minitwit
// import` into a running cluster. Each command carries a request ID, so a
// retry after the leader changed is applied once.
func (c *ClusterClient) Proposer(addr string) Proposer {
	return &remoteProposer{c: c, addr: addr}
}

type remoteProposer struct {
	c    *ClusterClient
	addr string

	mu     sync.Mutex
	leader string // the leader found last, tried first
}

func (p *remoteProposer) Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error) {
	if f := raftfsm.FormatOf(cmd); f > raftfsm.ReleasedFormat {
		// The format gate (formatgate.go), asked of the member we go
		// through: the leader may run an older binary without one.
		_, err := p.c.do(ctx, http.MethodGet, p.addr, rpcClusterFormat+"?format="+strconv.Itoa(int(f)), nil)
		var re *rpcError
		switch {
		case errors.As(err, &re) && re.status == http.StatusNotFound:
			return raftfsm.Result{}, fmt.Errorf("%w (the node at %s is older than this tool)", raftfsm.ErrOlderMembers, p.addr)
		case errors.As(err, &re) && re.code == codeFormatRefused:
			return raftfsm.Result{}, formatRefusal(re.msg)
		case err != nil:
			return raftfsm.Result{}, err
		}
	}
	var id raftfsm.RequestID
	rand.Read(id[:])
	body := raftfsm.Encode(&raftfsm.Tagged{ID: id, Cmd: raftfsm.Encode(cmd)})
	tries := 0
	leader := func(ctx context.Context) (string, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if tries++; tries > 1 || p.leader == "" { // it moved, or first use: ask
			addr, err := p.c.Leader(ctx, p.addr)
			if err != nil {
				return "", err
			}
			p.leader = addr
		}
		return p.leader, nil
	}
	data, err := postToLeader(ctx, p.c.http, leader, rpcPropose, body, false, nil)
	if err != nil {
		return raftfsm.Result{}, err
	}
	return raftfsm.DecodeResult(data)
}

// WithLocalNode starts the node on cfg's data dir for one task of an admin
// tool and stops it again. A data dir of a running node is refused with
// ErrDataDirInUse: the tool then goes through the running node instead.
// The node started here rejoins its cluster like any restart, so the task
// goes through Raft whether the cluster has one node or more.
//
// The node started here serves nobody on its public side: its listener
// takes a free loopback port (the configured one may belong to another
// node of this machine, and ACME must not run for a tool), it logs no
// configuration warnings (they are serve's) and makes no first admin (the
// next `serve` does, and tells the password with its real address).
func WithLocalNode(ctx context.Context, cfg config.Config, log *slog.Logger, task func(*Node) error) (err error) {
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.TLS = config.TLSConfig{Mode: config.TLSOff}
	n, err := Start(cfg, Options{Logger: log, tool: true})
	if errors.Is(err, store.ErrInUse) {
		return ErrDataDirInUse
	}
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// A node that does not stop cleanly may not have saved the task's
		// result to its log as it should: the tool must fail then.
		if cerr := n.Close(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("stopping the node: %w", cerr)
		}
	}()
	if err := n.WaitReady(ctx); err != nil {
		return fmt.Errorf("the node did not become ready: %w", err)
	}
	return task(n)
}
