package node

import (
	"context"
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
