package node

import (
	"bytes"
	"errors"
	"os"

	"minitwit/node/cluster"
	"minitwit/store"
)

// A first start that fails midway. The bootstrapping node makes the
// cluster CA, writes its own certificate (signed by that CA) to the data
// dir, starts Raft, and proposes the CA, with its key, as part of the
// cluster secrets once it leads. A start that fails between the two (the
// HTTP port is taken) used to leave a certificate on disk whose CA key had
// died with the process: the next start found the certificate, had no CA
// to propose, and proposed the other secrets every second forever, the CA
// never among them, so no node could ever join.
//
// So the CA key is written next to the certificate (cluster.PendingCAPath,
// owner-only like the node key) before the certificate, and stays until
// the replicated state holds the CA; a start that finds it proposes it.

// forgetPendingCA drops the kept CA key once the replicated state holds
// that CA (or another: the state machine keeps the first).
func (n *Node) forgetPendingCA() {
	if n.localCA == nil {
		return
	}
	// A failed read keeps the key: the next check reads again.
	var sec store.ClusterSecrets
	if err := n.store.View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil }); err != nil || len(sec.CACert) == 0 {
		return
	}
	if !bytes.Equal(sec.CACert, n.localCA.CertPEM()) {
		n.log.Warn("the cluster CA in the replicated state is not the one this node made; the cluster's stays")
	}
	if err := os.Remove(cluster.PendingCAPath(n.cfg.DataDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		n.log.Warn("removing the pending CA key failed", "err", err.Error())
		return
	}
	n.localCA = nil
}
