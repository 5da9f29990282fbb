package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"minitwit/node/config"
	"minitwit/node/importer"
	"minitwit/raftfsm"
	"minitwit/store"
)

// Proposer sends a command through Raft: a node, or a client of one
// (ClusterClient.Proposer). The importer and the admin tools take one.
type Proposer interface {
	Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error)
}

// ResolveUsername returns the stored spelling of the user an operator
// named, through p (store.ReadTx.ResolveUsername: the exact name, else the
// one that folds alike): every `minitwit admin` action resolves the name
// it is given this way, whether it goes through a running member
// (ClusterClient.Proposer), a node started for it, or a data file never
// served (WithDataDir).
func ResolveUsername(ctx context.Context, p Proposer, name string) (string, error) {
	if r, ok := p.(interface {
		ResolveUsername(context.Context, string) (string, error)
	}); ok {
		return r.ResolveUsername(ctx, name)
	}
	return "", fmt.Errorf("cannot look user names up through %T", p)
}

// ResolveUsername reads the data file the commands go to.
func (p *seedProposer) ResolveUsername(_ context.Context, name string) (string, error) {
	return resolveIn(p.st, name)
}

// ResolveUsername is the package function for a running node: a
// linearizable read, like the pages'.
func (n *Node) ResolveUsername(ctx context.Context, name string) (string, error) {
	st, err := n.ReadStore(ctx)
	if err != nil {
		return "", err
	}
	return resolveIn(st, name)
}

func resolveIn(st *store.Store, name string) (out string, err error) {
	verr := st.View(func(tx *store.ReadTx) error { out, err = tx.ResolveUsername(name); return nil })
	if verr != nil {
		return "", verr
	}
	return out, err
}

// ImportSQLite imports the course SQLite database at path through this
// node and returns the importer.Report: the admin API's import.
func (n *Node) ImportSQLite(ctx context.Context, path string) (any, error) {
	return importer.FromSQLite(ctx, path, n, nil)
}

// ImportIntoDataDir imports the course database at path into the stopped
// (or new) node of cfg (WithDataDir: a new dir gets state only, no node id
// or addresses). It fails with ErrDataDirInUse while that node runs; import
// through the running node instead.
func ImportIntoDataDir(ctx context.Context, cfg config.Config, path string, log *slog.Logger, progress importer.Progress) (rep importer.Report, err error) {
	if _, err := os.Stat(path); err != nil {
		return importer.Report{}, err
	}
	err = WithDataDir(ctx, cfg, log, func(p Proposer) error {
		rep, err = importer.FromSQLite(ctx, path, p, progress)
		return err
	})
	return rep, err
}

// EachUsername calls fn with every username this node's store holds: the
// importer's importer.NameSource, so that a name of the file that differs
// from an existing one only in case is skipped, not counted as there.
func (n *Node) EachUsername(ctx context.Context, fn func(name string) error) error {
	return eachUsername(ctx, n.store, fn)
}

// EachUsername is the seed proposer's importer.NameSource.
func (p *seedProposer) EachUsername(ctx context.Context, fn func(name string) error) error {
	return eachUsername(ctx, p.st, fn)
}

func eachUsername(ctx context.Context, st *store.Store, fn func(name string) error) error {
	return st.View(func(r *store.ReadTx) error {
		return r.EachUsername(func(name string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(name)
		})
	})
}
