// Package cluster owns a node's internode port (raft_addr): the listener
// that carries Raft, the cluster RPC and joins over mutual TLS, the cluster
// CA and node certificates, the port guard for peers without a
// certificate, the join handshake, membership (non-voters first, then
// promotion), the cluster RPC server with its one route table (routes.go)
// and failure codes (errors.go), the one typed client (Client) that
// members and the admin tools use, and the format gate.
//
// It never imports package node: Serve takes a Host, the narrow view of
// the node its handlers need, which *node.Node provides. See DESIGN.md.
package cluster
