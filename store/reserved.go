package store

import "strings"

// reservedNames collide with the web UI's routes (now or planned): a user
// called "admin" would have a profile nobody can reach. The UI, the API,
// the admin tools and the configuration refuse them for new users; the
// store itself does not, so imported data keeps what it had. Compared
// case-insensitively so "Admin" cannot pose as a page.
var reservedNames = map[string]bool{
	"public": true, "login": true, "logout": true, "register": true, "add_message": true,
	"api": true, "admin": true, "static": true, "metrics": true, "healthz": true, "readyz": true,
	"version": true, "favicon.ico": true, "robots.txt": true, "follow": true, "unfollow": true,
	"simulator": true, "cluster": true, "backup": true, "debug": true, "internal": true, ".well-known": true,
}

// IsReservedName tells whether name is one a new user may not take.
func IsReservedName(name string) bool { return reservedNames[strings.ToLower(name)] }
