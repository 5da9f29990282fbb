package store

import (
	"encoding/binary"
	"unicode/utf8"
)

// The audit trail: operator actions (an admin granted, a password reset,
// the join token read, a backup taken...), each with who asked and
// through which node, replicated like every other write so every node
// lists the same trail (raftfsm.Audit proposes them). The "audit" bucket
// maps a sequence number to an entry; it is created by the first entry,
// so a data file without one opens unchanged, and only the newest
// AuditKeep entries are kept (older ones are deleted in the transaction
// that adds a new one).
//
// The trail is not part of Digest: a read (a backup) is recorded after
// the state it read, so a backup compared with the node's state must not
// differ by the record of its own taking.

var bucketAudit = []byte("audit")

// AuditKeep bounds the trail. It is part of the state machine: every
// replica trims at the same entry.
const AuditKeep = 1000

// maxAuditField bounds each text of an entry; longer ones are cut (at a
// character boundary), never refused, so an action is never refused for
// its description.
const maxAuditField = 256

// AuditEntry is one operator action.
type AuditEntry struct {
	Seq  uint64 // its place in the trail, from 1
	Time int64  // the proposer's clock, Unix nanoseconds
	// Node is the caller's node id (its certificate's, over the
	// internode port), or the node that served User's page.
	Node string
	// User is the admin's name on the admin page, "" for the internode
	// port.
	User string
	// Via is the member that served the request.
	Via            string
	Action, Target string
	// Outcome is "ok" or "refused: CODE".
	Outcome string
}

const auditRecordV1 = 1

func cutField(s string) string {
	if len(s) <= maxAuditField {
		return s
	}
	s = s[:maxAuditField]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func encodeAudit(e AuditEntry) []byte {
	b := []byte{auditRecordV1}
	b = binary.AppendVarint(b, e.Time)
	for _, s := range []string{e.Node, e.User, e.Via, e.Action, e.Target, e.Outcome} {
		s = cutField(s)
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func decodeAudit(seq uint64, b []byte) (AuditEntry, bool) {
	e := AuditEntry{Seq: seq}
	if len(b) == 0 || b[0] != auditRecordV1 {
		return e, false
	}
	b = b[1:]
	t, n := binary.Varint(b)
	if n <= 0 {
		return e, false
	}
	e.Time, b = t, b[n:]
	for _, f := range []*string{&e.Node, &e.User, &e.Via, &e.Action, &e.Target, &e.Outcome} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return e, false
		}
		*f, b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	return e, true
}

// AppendAudit adds an entry to the trail and drops the entries beyond the
// newest AuditKeep.
func (w *WriteTx) AppendAudit(e AuditEntry) error {
	b, err := w.tx.CreateBucketIfNotExists(bucketAudit)
	if err != nil {
		return err
	}
	b.FillPercent = appendFillPercent
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(u64(seq), encodeAudit(e)); err != nil {
		return err
	}
	if seq <= AuditKeep {
		return nil
	}
	c := b.Cursor()
	for k, _ := c.First(); k != nil && readU64(k) <= seq-AuditKeep; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Audit returns up to limit entries of the trail, newest first, starting
// below entry before (0: from the newest).
func (r *ReadTx) Audit(before uint64, limit int) []AuditEntry {
	b := r.tx.Bucket(bucketAudit)
	if b == nil || limit <= 0 {
		return nil
	}
	var out []AuditEntry
	c := b.Cursor()
	var k, v []byte
	if before == 0 {
		k, v = c.Last()
	} else if k, _ = c.Seek(u64(before)); k == nil {
		k, v = c.Last() // every entry is below before
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && len(out) < limit; k, v = c.Prev() {
		if e, ok := decodeAudit(readU64(k), v); ok {
			out = append(out, e)
		}
	}
	return out
}

// KeepAuditTrail replaces this file's trail with entries (newest first, as
// Audit returns them): a restored backup keeps the cluster's trail, so a
// restore cannot erase the record of what was done before it.
func (w *WriteTx) KeepAuditTrail(entries []AuditEntry) error {
	if w.tx.Bucket(bucketAudit) != nil {
		if err := w.tx.DeleteBucket(bucketAudit); err != nil {
			return err
		}
	}
	if len(entries) == 0 {
		return nil
	}
	b, err := w.tx.CreateBucket(bucketAudit)
	if err != nil {
		return err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if err := b.Put(u64(entries[i].Seq), encodeAudit(entries[i])); err != nil {
			return err
		}
	}
	return b.SetSequence(entries[0].Seq)
}
