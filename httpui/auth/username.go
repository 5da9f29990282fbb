package auth

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// maxUsernameBytes is store.MaxUsernameBytes (this leaf may not import the
// store; TestUsernameRulesAgree holds the two together).
const maxUsernameBytes = 64

// CheckUsername applies the data model's rules for a name to a name that is
// not yet in the store: the admin.username setting, checked when the
// configuration loads, long before a store is open. They are the rules of
// store.ValidateUsername (non-empty, valid UTF-8, no control characters or
// '/', not "." or "..", at most 64 bytes), restated here because the
// configuration may import only leaf packages; TestUsernameRulesAgree
// fails if the two ever differ.
func CheckUsername(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty username")
	case name == "." || name == "..":
		return fmt.Errorf("username %q is a path segment of its own", name)
	case len(name) > maxUsernameBytes:
		return fmt.Errorf("username longer than %d bytes", maxUsernameBytes)
	case !utf8.ValidString(name):
		return fmt.Errorf("username is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '/' {
			return fmt.Errorf("username contains %q", r)
		}
	}
	return nil
}
