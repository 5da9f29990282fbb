package node

import (
	"context"
	"log/slog"
	"os"

	"minitwit/node/config"
	"minitwit/node/importer"
	"minitwit/raftfsm"
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
