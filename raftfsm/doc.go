// Package raftfsm owns MiniTwit's replicated state machine: the typed,
// versioned commands that travel through the Raft log, their binary
// encoding, and the FSM that hashicorp/raft drives (Apply, ApplyBatch,
// Snapshot, Restore). The certificate commands (CertPut, CertLock, ...) are
// here; certmagic's Storage that proposes them is node/publictls's.
//
// The FSM is a thin dispatcher: each command maps to one [store.WriteTx]
// operation. Everything non-deterministic (timestamps, password hashes,
// random keys) is computed by the proposer and carried in the command, never
// produced inside Apply. See DESIGN.md for the decisions behind it.
package raftfsm
