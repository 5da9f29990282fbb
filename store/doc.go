// Package store owns MiniTwit's data model in one bbolt file: the buckets, the
// key and value encodings, the write operations that the replicated state
// machine runs, and the queries that pages and the API run.
//
// It knows nothing of Raft or HTTP. Writes happen inside [Store.Update], which
// hands a [WriteTx] to the caller; every write operation either changes
// nothing and returns a typed error (such as [ErrUnknownUser]) or completes, so
// a batch of commands can share one transaction. Reads happen inside
// [Store.View] on a [ReadTx], or through the convenience methods on [Store].
//
// Every query is bounded by what it returns: timelines walk an index backwards
// from a cursor and stop after one page (plus a bounded number of flagged
// messages skipped); the admin pages' message search examines at most a set
// number of messages per call and returns a cursor to go on. See DESIGN.md
// for the layout and the trade-offs.
package store
