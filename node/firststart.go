package node

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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
// So the CA key is written next to the certificate (pendingCAKeyFile,
// owner-only like the node key) before the certificate, and stays until
// the replicated state holds the CA; a start that finds it proposes it.
const pendingCAKeyFile = "ca-pending.key"

func pendingCAPath(dataDir string) string { return filepath.Join(dataDir, tlsDir, pendingCAKeyFile) }

// savePendingCA keeps a CA this node made until the cluster has it.
func savePendingCA(dataDir string, ca *clusterCA) error {
	if err := os.MkdirAll(filepath.Join(dataDir, tlsDir), 0o700); err != nil {
		return err
	}
	return writeSynced(pendingCAPath(dataDir), ca.keyPEM)
}

// loadPendingCA returns the CA this node made and has not seen in the
// replicated state yet, or nil. The key must belong to the CA certificate
// the node's own certificate was issued by.
func loadPendingCA(dataDir string, t *nodeTLS) (*clusterCA, error) {
	keyPEM, err := os.ReadFile(pendingCAPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ca, err := parseClusterCA(t.caPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pendingCAPath(dataDir), err)
	}
	if !ca.key.PublicKey.Equal(ca.cert.PublicKey) {
		return nil, fmt.Errorf("%s does not belong to this node's CA certificate", pendingCAPath(dataDir))
	}
	return ca, nil
}

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
	if !bytes.Equal(sec.CACert, n.localCA.certPEM) {
		n.log.Warn("the cluster CA in the replicated state is not the one this node made; the cluster's stays")
	}
	if err := os.Remove(pendingCAPath(n.cfg.DataDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		n.log.Warn("removing the pending CA key failed", "err", err.Error())
		return
	}
	n.localCA = nil
}
