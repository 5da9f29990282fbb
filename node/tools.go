package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"minitwit/node/config"
	"minitwit/store"
)

// How the admin tools (import, admin, flag) reach a cluster: through the
// running node of a data dir over the internode port (ClusterClient's
// Proposer), or, when that node is stopped, by starting it here for the
// task (WithLocalNode).

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
