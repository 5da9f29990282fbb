package node

import (
	"context"
	"time"

	"minitwit/raftfsm"
	"minitwit/store"
)

// Case-insensitive name uniqueness in the state machine (store's
// foldnames.go). The check is switched on by one replicated command,
// raftfsm.FoldNames, which only a binary reading format 5 can apply: the
// leader proposes it once every member reads that format, so in the middle
// of a rolling upgrade no replica applies registrations by the old rule
// after another applied them by the new one. Until then the proposers'
// own check (store.NameTakenFold) is all there is, as before.

// ensureFoldedNames runs on the leader while the check is off.
func (n *Node) ensureFoldedNames(ctx context.Context) {
	var on bool
	if err := n.store.View(func(tx *store.ReadTx) error { on = tx.FoldedNamesOn(); return nil }); err != nil || on {
		return
	}
	if err := n.checkClusterReads(ctx, raftfsm.FormatOf(&raftfsm.FoldNames{})); err != nil {
		if !n.foldWaitSaid {
			n.foldWaitSaid = true
			n.log.Info("case-insensitive name uniqueness is enforced once every member runs this version", "reason", err.Error())
		}
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := n.Propose(pctx, &raftfsm.FoldNames{})
	if err == nil {
		err = res.Err
	}
	if err != nil {
		select {
		case <-n.closing: // a stop cut it short: nothing to report
		default:
			n.log.Warn("turning on case-insensitive name uniqueness failed; tried again shortly", "err", err.Error())
		}
		return
	}
	n.log.Info("case-insensitive name uniqueness is enforced by the state machine")
}
