// Package username holds the rules a user name must meet: the data model's
// (non-empty, valid UTF-8, no control characters, at most MaxBytes, usable as
// one URL path segment) and the list of names taken by the web UI's pages.
//
// It is a leaf (standard library only) so that packages which must not
// depend on the store, such as node/config checking admin.username, apply
// the same rules as the store does. package store wraps these checks in its
// ErrInvalid.
package username

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxBytes is the longest user name, in bytes.
const MaxBytes = 64

// Check reports the first rule name breaks: it must be non-empty, valid
// UTF-8, without control characters, at most MaxBytes, and usable as one URL
// path segment: no '/', and not "." or "..", which URL cleaning removes.
func Check(name string) error {
	switch {
	case name == "":
		return errors.New("empty username")
	case name == "." || name == "..":
		return fmt.Errorf("username %q is a path segment of its own", name)
	case len(name) > MaxBytes:
		return fmt.Errorf("username longer than %d bytes", MaxBytes)
	case !utf8.ValidString(name):
		return errors.New("username is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '/' {
			return fmt.Errorf("username contains %q", r)
		}
	}
	return nil
}

// reserved collide with the web UI's routes (now or planned): a user called
// "admin" would have a profile nobody can reach. The UI, the API, the admin
// tools and the configuration refuse them for new users; the store itself
// does not, so imported data keeps what it had. Compared case-insensitively
// so "Admin" cannot pose as a page.
var reserved = map[string]bool{
	"public": true, "login": true, "logout": true, "register": true, "add_message": true,
	"api": true, "admin": true, "static": true, "metrics": true, "healthz": true, "readyz": true,
	"version": true, "favicon.ico": true, "robots.txt": true, "follow": true, "unfollow": true,
	"simulator": true, "cluster": true, "backup": true, "debug": true, "internal": true, ".well-known": true,
}

// IsReserved tells whether name is one a new user may not take.
func IsReserved(name string) bool { return reserved[strings.ToLower(name)] }
