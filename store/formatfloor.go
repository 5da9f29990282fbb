package store

// The format floor: the newest command format (raftfsm.FormatOf) the
// replicated log has held so far, raised by the state machine as it
// applies commands. A member that cannot read a format stops at its first
// entry of it, so once the floor is F every member that goes on applying
// reads F; the format gate (node/cluster/formatgate.go) lets a command of
// format F through on it when a member cannot be asked. It is replicated
// state like any other: every replica raises it at the same entry.

var metaFormatFloor = []byte("format_floor")

// FormatFloor is the newest command format applied so far (0: none above
// the first release's, or a replica from before the floor was kept).
func (r *ReadTx) FormatFloor() byte {
	if v := r.meta.Get(metaFormatFloor); len(v) == 1 {
		return v[0]
	}
	return 0
}

// RaiseFormatFloor records that a command of format f was applied; a
// lower f changes nothing.
func (w *WriteTx) RaiseFormatFloor(f byte) error {
	if f <= w.FormatFloor() {
		return nil
	}
	return w.meta.Put(metaFormatFloor, []byte{f})
}
