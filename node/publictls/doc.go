// Package publictls owns the certificates of a node's public listener:
// the TLS mode (Setup: plain HTTP, a self-signed certificate kept in the
// data dir, or ACME through certmagic, with the HTTP-01 redirect handler
// and HSTS), and certmagic's Storage over the replicated state
// (CertStorage): the nodes behind one DNS name share one ACME account, one
// certificate and the challenge tokens, and lease locks in the Raft log keep
// two nodes from ordering the same certificate at once. Serving never needs
// quorum: reads fall back to this node's own copy when there is no leader.
//
// It proposes raftfsm's certificate commands through any Node (a running
// *node.Node) and reads the store; it knows nothing of the node's lifecycle,
// so raftfsm itself does not depend on certmagic. See DESIGN.md.
package publictls
