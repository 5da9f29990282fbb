package store

// Revoked cluster certificates, by node id: a member removed from the
// cluster has every certificate issued for its id before the removal
// refused, so an id added again later does not make the old certificates
// valid again. Kept in the meta bucket under one key per node id (Unix
// nanoseconds), so the data file's schema stays as it is.

func revokedKey(id string) []byte { return []byte("revoked_node/" + id) }

// CertsRevokedBefore is the time (Unix nanoseconds) before which every
// certificate issued for node id is revoked; 0 when none is.
func (r *ReadTx) CertsRevokedBefore(id string) int64 {
	return int64(readU64(r.meta.Get(revokedKey(id))))
}

// RevokeNodeCerts revokes the certificates issued for node id before
// before; a later revocation only moves the time forward.
func (w *WriteTx) RevokeNodeCerts(id string, before int64) error {
	if before <= w.CertsRevokedBefore(id) {
		return nil
	}
	return w.meta.Put(revokedKey(id), u64(uint64(before)))
}
