package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
)

// Recovering from a lost quorum. When a majority of the voters is gone for
// good, the cluster cannot elect a leader or commit anything. The operator
// stops the surviving nodes, writes the same peers.json into each one's
// <data_dir>/raft/ (the members that are left, as hashicorp/raft reads it:
// [{"id": "node1", "address": "10.0.0.1:8081", "non_voter": false}]) and
// starts them: at start, the node rewrites its Raft state so that this is
// the configuration (raft.RecoverCluster: the newest snapshot, every
// entry in the log applied, a new snapshot with the new configuration),
// renames the file so that it is used once, and starts as usual. Entries
// the lost majority had committed but this node never received are gone
// with them.

const peersFile = "peers.json"

// recoverFromPeersJSON applies <data_dir>/raft/peers.json if it exists.
func (n *Node) recoverFromPeersJSON(existing bool, logs raft.LogStore) error {
	path := filepath.Join(n.cfg.DataDir, raftDir, peersFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !existing {
		return fmt.Errorf("%s: there is no Raft state here to recover; remove the file", path)
	}
	conf, err := raft.ReadConfigJSON(path)
	if err != nil {
		return fmt.Errorf("%s: %w (expected [{\"id\": \"node1\", \"address\": \"host:port\", \"non_voter\": false}, ...])", path, err)
	}
	if err := raft.RecoverCluster(n.raftConfig(), n.fsm, logs, n.logStore, n.snaps, n.transport, conf); err != nil {
		return fmt.Errorf("recovering the cluster from %s: %w", path, err)
	}
	done := path + ".recovered-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(path, done); err != nil {
		return err
	}
	n.log.Warn("recovered the cluster with a new configuration from peers.json", "servers", fmt.Sprint(conf.Servers), "file", done)
	return nil
}
