package nodeinfo

import (
	"errors"
	"fmt"
	"time"

	"minitwit/ops"
	"minitwit/ops/alerting"
)

// Status is what /readyz reports. Ready decides 200 or 503.
type Status struct {
	NodeID       string `json:"node_id"`
	Role         string `json:"role"`
	Leader       string `json:"leader"`
	AppliedIndex uint64 `json:"applied_index"`
	CommitIndex  uint64 `json:"commit_index"`
	Ready        bool   `json:"-"`
	Reason       string `json:"reason,omitempty"`
}

// ErrUnknownNode is the node's answer for a node id that is not a member;
// the admin page answers 404 for it.
var ErrUnknownNode = errors.New("not a member of this cluster")

// Overview is the cluster as the admin page shows it.
type Overview struct {
	Self     string // the node answering
	Leader   string
	Nodes    []Info
	Warnings []string // configuration the operator should fix
	// Alerts are the in-node alerts as this node holds them.
	Alerts alerting.State
	// CA is the internode cluster CA as the answering node's replica
	// holds it; nil when it could not be read.
	CA *CA
}

// CA is the cluster CA (node/cluster's CAState, without a member's own
// certificate and trust): fingerprints (SHA-256 of the certificate, hex)
// of the current CA, which issues certificates, and during a rotation of
// the staged Next one (step 1 of 3) or the Previous one being rotated out
// (step 2 of 3).
type CA struct {
	Current, Next, Previous string
}

// String is the line `minitwit cluster ca` prints and the admin page
// shows, fingerprints cut to their first 16 hex digits (Short).
func (c CA) String() string {
	switch {
	case c.Next != "":
		return fmt.Sprintf("cluster CA: %s (rotating, step 1 of 3: both trusted, next %s)", Short(c.Current), Short(c.Next))
	case c.Previous != "":
		return fmt.Sprintf("cluster CA: %s (rotating, step 2 of 3: both trusted, previous %s)", Short(c.Current), Short(c.Previous))
	}
	return "cluster CA: " + Short(c.Current)
}

// Short is the part of a CA fingerprint shown to people.
func Short(fp string) string {
	if len(fp) > 16 {
		return fp[:16]
	}
	return fp
}

// Info is one member as it describes itself.
type Info struct {
	ID           string      `json:"id"`
	RaftAddr     string      `json:"raft_addr"`
	HTTPAddr     string      `json:"http_addr"`
	Role         string      `json:"role"`
	Voter        bool        `json:"-"` // from the configuration: Overview fills it in
	Version      string      `json:"version"`
	Format       int         `json:"format"` // the newest command format its binary reads
	StartedAt    time.Time   `json:"started_at"`
	AppliedIndex uint64      `json:"applied_index"`
	CommitIndex  uint64      `json:"commit_index"`
	LastIndex    uint64      `json:"last_index"`
	LastContact  string      `json:"last_contact"` // with the leader, as Raft reports it
	Ready        bool        `json:"ready"`
	Reason       string      `json:"reason,omitempty"`
	CertExpiry   time.Time   `json:"cert_expiry,omitzero"`
	DataBytes    int64       `json:"data_bytes"`
	HeapBytes    int64       `json:"heap_bytes"`
	Last         *ops.Point  `json:"last,omitempty"`   // the newest sample
	Backup       *BackupInfo `json:"backup,omitempty"` // scheduled backups, when configured
	Err          string      `json:"-"`                // set when the node did not answer
	Lag          uint64      `json:"-"`                // entries behind the newest commit index seen

	// RaftTiming is the member's Raft timeouts (config.RaftTiming.String),
	// which every member should share; empty from older versions.
	RaftTiming string `json:"raft_timing,omitempty"`
}

// BackupInfo is the scheduled backups' state on this node.
type BackupInfo struct {
	Targets     []string  // where backups go (folder, s3://bucket/prefix)
	Interval    string    // how often
	LastGood    time.Time // when the last backup was stored everywhere
	LastGoodKey string
	LastError   string // the last failure, "" after a success
	LastErrorAt time.Time
	Failures    int
}
