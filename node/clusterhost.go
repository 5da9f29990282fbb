package node

import (
	"context"
	"io"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/node/cluster"
	"minitwit/ops"
	"minitwit/raftfsm"
)

// The internode port (mux, mTLS and the cluster CA, joins, membership, the
// cluster RPC and its client, the format gate) lives in node/cluster. The
// node runs one cluster.Server and serves it through clusterHost; the
// names below keep the node's API (and cmd/minitwit's) as it was.

// ClusterClient administers a cluster with the identity of a local node
// (cluster.Client).
type ClusterClient = cluster.Client

// NewClusterClient loads the node certificate from dataDir.
func NewClusterClient(dataDir string) (*ClusterClient, error) { return cluster.NewClient(dataDir) }

// Member is one server in the cluster's configuration.
type Member = cluster.Member

// MembersReport is a node's view of the cluster.
type MembersReport = cluster.MembersReport

// CAState is a member's view of the cluster CA (`cluster ca`).
type CAState = cluster.CAState

// FlaggedMessage is one flagged message as `minitwit flag --list` shows it.
type FlaggedMessage = cluster.FlaggedMessage

// ErrUnavailable wraps every reason a proposal or read cannot be served
// right now (no leader, shutting down, timed out). It is retryable; callers
// answer 503. A write that failed this way may still have been committed.
var ErrUnavailable = cluster.ErrUnavailable

// errNotLeaderHere means the request reached a node that is not (or no
// longer) the leader; nothing was done, so it may be sent again.
var errNotLeaderHere = cluster.ErrNotLeaderHere

// errOutcomeUnknown means the entry was appended but the leader lost
// leadership (or failed) before it was known to be committed. The request
// may be sent again with the same ID (retried); the next leader answers
// it from its record of applied requests if it was committed.
var errOutcomeUnknown = cluster.ErrOutcomeUnknown

// clusterHost is what node/cluster sees of the node (cluster.Host).
type clusterHost struct{ *Node }

var _ cluster.Host = clusterHost{}

func (h clusterHost) Await(ctx context.Context, f raft.Future) error { return h.await(ctx, f) }

func (h clusterHost) Up() bool { return h.up.Load() }

func (h clusterHost) HandingOver() bool { return h.handingOver.Load() }

func (h clusterHost) Closing() <-chan struct{} { return h.closing }

func (h clusterHost) LeaderReadIndex(ctx context.Context) (uint64, error) {
	return h.leaderReadIndex(ctx)
}

func (h clusterHost) LocalSamples(since time.Time) []ops.Point { return h.samples(since) }

func (h clusterHost) ProposeForwarded(ctx context.Context, id raftfsm.RequestID, data []byte, retry bool) (raftfsm.Result, error) {
	return h.proposeHere(ctx, id, data, retry, true)
}

func (h clusterHost) WriteLogFile(w io.Writer, name func(string)) error {
	return h.writeLogFile(w, name)
}

// Readiness says whether this node serves and how far it has applied: the
// leader promotes a non-voter once it does (node/cluster/membership.go).
func (h clusterHost) Readiness() cluster.Readiness {
	n := h.Node
	st := n.Status()
	rd := cluster.Readiness{Ready: st.Ready && n.up.Load(), Reason: st.Reason, Applied: n.raft.AppliedIndex()}
	switch {
	case !n.up.Load():
		rd.Reason = "still starting: the public listener is not serving yet"
	case n.heldForTest.Load():
		rd.Ready, rd.Reason = false, "held by a test"
	}
	return rd
}

// IsVoter reports whether this node is a voter in its latest configuration.
func (n *Node) IsVoter() bool { return n.cluster.IsVoter(n.nodeID) }

// RemoveMember removes a node from the cluster (through the leader).
func (n *Node) RemoveMember(ctx context.Context, id string) error {
	return n.cluster.RemoveMember(ctx, id)
}

func (n *Node) memberList() []Member { return n.cluster.Members() }

// checkClusterReads returns nil when every member reads format
// (node/cluster/formatgate.go).
func (n *Node) checkClusterReads(ctx context.Context, format byte) error {
	return n.cluster.CheckClusterReads(ctx, format)
}

// callLeader sends a cluster RPC to the leader (cluster.Server.CallLeader).
func (n *Node) callLeader(ctx context.Context, data []byte, retry bool) ([]byte, error) {
	return n.cluster.Forward(ctx, data, retry)
}

// NewClusterCA makes a new cluster CA, as PEM certificate and key, for
// `minitwit cluster ca --rotate` (node/cluster/carotate.go).
func NewClusterCA() (certPEM, keyPEM []byte, err error) {
	ca, err := cluster.NewCA()
	if err != nil {
		return nil, nil, err
	}
	return ca.CertPEM(), ca.KeyPEM(), nil
}

// TrustedCAsIn returns the cluster CAs a node's data dir trusts, PEM by
// fingerprint.
func TrustedCAsIn(dataDir string) (map[string][]byte, error) { return cluster.TrustedCAsIn(dataDir) }

// CAPEMFingerprint is the fingerprint CAState reports for a PEM CA
// certificate.
func CAPEMFingerprint(certPEM []byte) string { return cluster.CAPEMFingerprint(certPEM) }
