package node

import "context"

// ConfirmFormatForTest makes the node's format gate remember the current
// membership as reading format, as if it had asked every member: a stale
// confirmation, such as a member's downgrade leaves behind.
func (n *Node) ConfirmFormatForTest(ctx context.Context, format byte) {
	n.cluster.ConfirmFormatForTest(format)
}
