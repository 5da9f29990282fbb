package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"minitwit/store/fsutil"
)

// The bootstrapping node's CA key, kept in the data dir until the
// replicated state holds the CA (node/firststart.go says why).
const pendingCAKeyFile = "ca-pending.key"

// PendingCAPath is where a CA this node made waits for the cluster to hold
// it.
func PendingCAPath(dataDir string) string { return filepath.Join(dataDir, TLSDir, pendingCAKeyFile) }

// SavePendingCA keeps a CA this node made until the cluster has it.
func SavePendingCA(dataDir string, ca *CA) error {
	if err := os.MkdirAll(filepath.Join(dataDir, TLSDir), 0o700); err != nil {
		return err
	}
	return fsutil.WriteFile(PendingCAPath(dataDir), ca.keyPEM)
}

// LoadPendingCA returns the CA this node made and has not seen in the
// replicated state yet, or nil. The key must belong to the CA certificate
// the node's own certificate was issued by.
func LoadPendingCA(dataDir string, t *TLS) (*CA, error) {
	keyPEM, err := os.ReadFile(PendingCAPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ca, err := ParseCA(t.CAPEM(), keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PendingCAPath(dataDir), err)
	}
	if !ca.key.PublicKey.Equal(ca.cert.PublicKey) {
		return nil, fmt.Errorf("%s does not belong to this node's CA certificate", PendingCAPath(dataDir))
	}
	return ca, nil
}
