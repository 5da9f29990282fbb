// Package publictls owns the certificates of a node's public listener.
// Today that is certmagic's Storage over the replicated state
// (CertStorage): the nodes behind one DNS name share one ACME account, one
// certificate and the challenge tokens, and lease locks in the Raft log keep
// two nodes from ordering the same certificate at once. Serving never needs
// quorum: reads fall back to this node's own copy when there is no leader.
//
// It proposes raftfsm's certificate commands through any Node (a running
// *node.Node) and reads the store; it knows nothing of the node's lifecycle,
// so raftfsm itself no longer depends on certmagic. The ACME and self-signed
// set-up still lives in node/publictls.go and is to move here next.
package publictls
