// Package node owns one running MiniTwit node: its configuration (in the
// config sub-package), the wiring of store, state machine, Raft and HTTP,
// cluster membership, write proposal, and graceful shutdown. [Start] reads
// top to bottom as the node's start-up runbook and [Node.Close] as its
// shut-down runbook. See DESIGN.md for the decisions.
package node
