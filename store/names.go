package store

import (
	"fmt"
	"strconv"
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

// Operators name users by hand (`minitwit admin reset-password ALICE`, the
// admin page's actions), and names are unique only up to folding
// (FoldName): so an operator's name means the user of that exact name
// when there is one, and otherwise the user whose name folds alike, which
// is one user for every name stored since the state machine checks folded
// names. Names stored before that check may clash ("Alice" and "alice");
// then a name that is neither is refused with both spellings, never
// guessed. Sign-in and profile URLs keep exact names: only operators'
// actions resolve.

// UsernameMatches returns the stored names an operator's name can mean:
// the name itself when it is stored, otherwise every stored name that
// folds alike, in byte order. A name that is not stored as typed costs a
// scan of the names (a rare operator action; the folded index keeps one
// owner per form, so it cannot tell clashes from before the check).
func (r *ReadTx) UsernameMatches(name string) []string {
	if r.usernames.Get([]byte(name)) != nil {
		return []string{name}
	}
	folded := FoldName(name)
	var out []string
	c := r.usernames.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if FoldName(string(k)) == folded {
			out = append(out, string(k))
		}
	}
	return out
}

// ResolveUsername returns the stored spelling of the user an operator
// named (UsernameMatches): ErrUnknownUser when there is none, an
// *AmbiguousNameError when names from before the folded check clash.
func (r *ReadTx) ResolveUsername(name string) (string, error) {
	return PickUsername(name, r.UsernameMatches(name))
}

// PickUsername is ResolveUsername's decision on matches gathered
// elsewhere (a member's answer over the internode port).
func PickUsername(name string, matches []string) (string, error) {
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%w %q", ErrUnknownUser, name)
	case 1:
		return matches[0], nil
	}
	return "", &AmbiguousNameError{Name: name, Matches: matches}
}

// AmbiguousNameError refuses an operator's name that folds alike to more
// than one stored name and is none of them exactly.
type AmbiguousNameError struct {
	Name    string
	Matches []string
}

func (e *AmbiguousNameError) Error() string {
	q := make([]string, len(e.Matches))
	for i, m := range e.Matches {
		q[i] = strconv.Quote(m)
	}
	return fmt.Sprintf("%q could be any of %s (names stored before names were unique regardless of case); give one exactly",
		e.Name, strings.Join(q, ", "))
}
