package store

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// ValidateNewUsername holds a name chosen now (registration, an admin
// created, the first admin) to the rules against look-alikes, on top of
// ValidateUsername: Unicode NFC, no format characters (zero-width, bidi
// overrides and isolates, byte-order marks), no whitespace but the plain
// space and none at either end, and not a route name (IsReservedName).
//
// It is for the proposer only. The state machine applies ValidateUsername,
// unchanged, so names stored before these rules keep working and every
// binary in a cluster applies a registration alike.
func ValidateNewUsername(name string) error {
	if err := ValidateUsername(name); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: username starts or ends with a space", ErrInvalid)
	case !norm.NFC.IsNormalString(name):
		return fmt.Errorf("%w: username is not in Unicode normal form C", ErrInvalid)
	case IsReservedName(name):
		return fmt.Errorf("%w: username %q is the name of a page", ErrInvalid, name)
	}
	for _, r := range name {
		if unicode.Is(unicode.Cf, r) || unicode.IsControl(r) || (unicode.IsSpace(r) && r != ' ') ||
			unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return fmt.Errorf("%w: username contains the invisible or formatting character %U", ErrInvalid, r)
		}
	}
	return nil
}

// ValidateEmail holds an e-mail address given now to one line without
// control or formatting characters.
func ValidateEmail(email string) error {
	for _, r := range email {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return fmt.Errorf("%w: e-mail address contains %U", ErrInvalid, r)
		}
	}
	return nil
}

// NameTakenFold returns an existing name equal to name under Unicode case
// folding ("Alice" for "alice"), if any: the proposer's check before a
// registration. Once the state machine enforces it (foldnames.go) this is
// one lookup in its index; before, a scan of the names.
func (r *ReadTx) NameTakenFold(name string) (string, bool) {
	if owner, taken, on := r.foldedNameOwner(name); on {
		if taken {
			return owner, true
		}
		if r.usernames.Get([]byte(name)) != nil {
			return name, true
		}
		return "", false
	}
	c := r.usernames.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if strings.EqualFold(string(k), name) {
			return string(k), true
		}
	}
	return "", false
}

// EachUsername calls fn with every username, in byte order, until fn
// returns an error: the importer folds them to find look-alikes of names
// already there whether or not the state machine checks folded names yet.
func (r *ReadTx) EachUsername(fn func(name string) error) error {
	c := r.usernames.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if err := fn(string(k)); err != nil {
			return err
		}
	}
	return nil
}
