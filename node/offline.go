package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/raft"

	"minitwit/node/config"
	"minitwit/raftfsm"
	"minitwit/store"
)

// A data dir prepared offline (an import or an admin command before its
// first serve, or into a restored dir) carries state, not identity: no node
// id, no addresses, no Raft log. The commands are applied to the data file
// directly through the state machine, and the first `serve` makes that file
// the base of a new cluster under the node id and addresses it is given
// (the "restored or seeded file" path of startRaft). Starting a whole node
// for it, as earlier versions did, baked the default node id and addresses
// into the dir, and a later `serve --node-id X` was refused.

// WithDataDir runs task with a Proposer for the stopped (or new) node whose
// data dir is cfg.DataDir. A dir that was never served (no node id, no Raft
// state) gets its commands applied to the data file directly; a dir that
// belongs to a node starts that node here (WithLocalNode), because its data
// file must only change through its log. It fails with ErrDataDirInUse
// while that node runs.
func WithDataDir(ctx context.Context, cfg config.Config, log *slog.Logger, task func(Proposer) error) error {
	if servedBefore(cfg.DataDir) {
		return WithLocalNode(ctx, cfg, log, func(n *Node) error { return task(n) })
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, storeFile), store.Options{InitialMmapSize: 1 << 20})
	if errors.Is(err, store.ErrInUse) {
		return ErrDataDirInUse
	}
	if err != nil {
		return err
	}
	// Checked again with the file locked: a serve that started in between
	// holds the lock first or has made the dir its own.
	if servedBefore(cfg.DataDir) {
		if err := st.Close(); err != nil {
			return err
		}
		return WithLocalNode(ctx, cfg, log, func(n *Node) error { return task(n) })
	}
	p := &seedProposer{fsm: raftfsm.New(st), st: st}
	err = task(p)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

// servedBefore reports whether a node has run on dir: it recorded its id
// or keeps Raft state there.
func servedBefore(dir string) bool {
	for _, name := range []string{nodeIDFile, raftDir, unsyncedMarker} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil || !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

// seedProposer applies commands to a data file that has no Raft log yet,
// one transaction per command, numbered after the file's applied index (the
// first serve resets that index when it starts the log).
type seedProposer struct {
	mu  sync.Mutex // one command at a time: each takes the next index
	fsm *raftfsm.FSM
	st  *store.Store // read for the names already there (EachUsername)
}

func (p *seedProposer) Propose(ctx context.Context, cmd raftfsm.Command) (res raftfsm.Result, err error) {
	if err := ctx.Err(); err != nil {
		return raftfsm.Result{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		// The state machine panics when the store fails to commit (a node
		// must stop then); here there is no log to disagree with, so the
		// failure is the command's.
		if r := recover(); r != nil {
			err = fmt.Errorf("applying to the data file: %v", r)
		}
	}()
	entry := &raft.Log{Index: p.fsm.AppliedIndex() + 1, Type: raft.LogCommand, Data: raftfsm.Encode(cmd)}
	switch out := p.fsm.Apply(entry).(type) {
	case raftfsm.Result:
		return out, nil
	default:
		return raftfsm.Result{}, fmt.Errorf("applying to the data file: unexpected result %T", out)
	}
}
