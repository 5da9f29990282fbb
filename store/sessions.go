package store

import "strconv"

// Session generations. Each user has a number, 0 until first bumped, that
// every session cookie carries; bumping it (sign-out, an admin's revoke)
// ends every session made before, on every node, since it is replicated
// state like the rest. Kept in the meta bucket under one key per user, so
// users' records and the data file's schema stay as they are.

func sessionGenKey(userID uint64) []byte {
	return []byte("session_gen/" + strconv.FormatUint(userID, 10))
}

// SessionGeneration is the user's current session generation.
func (r *ReadTx) SessionGeneration(userID uint64) uint64 {
	return readU64(r.meta.Get(sessionGenKey(userID)))
}

// EndSessions bumps name's session generation and returns the new one.
func (w *WriteTx) EndSessions(name string) (uint64, error) {
	u, err := w.UserByName(name)
	if err != nil {
		return 0, err
	}
	gen := w.SessionGeneration(u.ID) + 1
	return gen, w.meta.Put(sessionGenKey(u.ID), u64(gen))
}
