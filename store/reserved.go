package store

import "minitwit/store/username"

// IsReservedName tells whether name is one a new user may not take: it
// collides with a page of the web UI (see package username).
func IsReservedName(name string) bool { return username.IsReserved(name) }
