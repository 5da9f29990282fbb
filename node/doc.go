// Package node owns one running MiniTwit node: its configuration (in the
// config sub-package), the wiring of store, state machine, Raft and HTTP,
// write proposal and group commit, the read index, backup and restore of
// its own state, and graceful shutdown. The internode port (joins,
// membership, the cluster RPC) is node/cluster's, which the node serves
// through cluster.Host (clusterhost.go); the public listener's TLS is
// node/publictls's. [Start] reads
// top to bottom as the node's start-up runbook and [Node.Close] as its
// shut-down runbook. See DESIGN.md for the decisions.
package node
