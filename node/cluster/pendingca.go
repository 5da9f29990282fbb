package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	return writeSynced(PendingCAPath(dataDir), ca.keyPEM)
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

// writeSynced writes a file readable by the owner only and syncs it and
// its folder, so a certificate or key that was written survives a crash.
// (node keeps its own for the data dir's other files: this package does
// not import node.)
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
