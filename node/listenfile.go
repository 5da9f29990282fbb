package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The listen file: a running node records in its data dir where it
// listens, so that the tools run on the same machine (`minitwit cluster`,
// `admin`, `flag`, `backup`) find it from --data-dir alone. Without it a
// tool could only guess the internode address from the configuration it
// reads itself, which is not the one the node was started with when that
// came from flags (`make cluster`). The file is written once every listener
// is bound and removed at a clean stop; a node killed leaves it behind,
// which ReadListening's caller detects (Listening.Alive, and an address
// that does not answer).
const listenFile = "listen.json"

// Listening is what a running node records in <data_dir>/listen.json.
type Listening struct {
	PID    int    `json:"pid"`
	NodeID string `json:"node_id"`
	// HTTPAddr is the public listener's bound address and PublicURL its
	// base URL as a client on this machine reaches it (http or https).
	HTTPAddr  string `json:"http_addr"`
	PublicURL string `json:"public_url"`
	// RedirectAddr is the plain-HTTP redirect listener's, if any.
	RedirectAddr string `json:"redirect_addr,omitempty"`
	// RaftAddr is the internode (mTLS) address: Raft, the cluster RPC
	// the tools speak, joins.
	RaftAddr string    `json:"raft_addr"`
	Version  string    `json:"version,omitempty"`
	Started  time.Time `json:"started"`
}

// ListenFile is the path of the listen file in dataDir.
func ListenFile(dataDir string) string { return filepath.Join(dataDir, listenFile) }

// ErrNotListening means the data dir has no listen file: its node is
// stopped (or older than the file).
var ErrNotListening = errors.New("no running node recorded")

// ReadListening returns what the node of dataDir recorded, or
// ErrNotListening when there is no record. A record may be stale (a node
// killed without a clean stop): see Alive.
func ReadListening(dataDir string) (Listening, error) {
	var l Listening
	data, err := os.ReadFile(ListenFile(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return l, ErrNotListening
	}
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(data, &l); err != nil || l.RaftAddr == "" {
		return l, fmt.Errorf("%s is not a node's listen record: delete it and start the node again", ListenFile(dataDir))
	}
	return l, nil
}

// Alive reports whether the process that wrote the record still runs. A
// live process may still be another one that reused the pid; the caller
// then finds nothing answering at the address.
func (l Listening) Alive() bool { return l.PID > 0 && processAlive(l.PID) }

// writeListening records the node's addresses, atomically (a reader never
// sees half a file): written beside it, then renamed.
func (n *Node) writeListening() error {
	scheme := "http"
	if n.tlsPublic != nil && n.tlsPublic.Config != nil {
		scheme = "https"
	}
	l := Listening{PID: os.Getpid(), NodeID: n.nodeID, HTTPAddr: n.HTTPAddr(),
		PublicURL: scheme + "://" + n.HTTPAddr(), RedirectAddr: n.RedirectAddr(),
		RaftAddr: n.RaftAddr(), Version: n.build.Version, Started: n.started.UTC()}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	path := ListenFile(n.cfg.DataDir)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// removeListening deletes the record at a clean stop, if it is still this
// process's: nothing else writes it while the data file is locked by us, so
// this only guards against removing a record we never wrote.
func (n *Node) removeListening() {
	path := ListenFile(n.cfg.DataDir)
	if l, err := ReadListening(n.cfg.DataDir); err == nil && l.PID == os.Getpid() && l.RaftAddr == n.RaftAddr() {
		if err := os.Remove(path); err != nil {
			n.log.Warn("could not remove the listen record", "path", path, "err", err.Error())
		}
	}
}
