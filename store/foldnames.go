package store

import (
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Case-insensitive name uniqueness, enforced by the state machine.
//
// Registrations check names on the proposer (NameTakenFold), but two
// proposers can each find "Alice" free and "alice" free at the same time;
// only the state machine sees them in order. Once EnableFoldedNames has
// run (the replicated command raftfsm.FoldNames, which the leader proposes
// once every member reads it), every new name is also recorded under its
// folded form (FoldName) and a name whose folded form is taken is refused
// with ErrNameTaken, on every replica alike.
//
// Why a switch rather than always: a replica running an older binary
// applies registrations without the check, and a state machine must decide
// the same everywhere. The switch is itself a log entry that older
// binaries cannot apply (they stop on it), so from its index on every
// replica that applies entries checks.
//
// Names stored before the switch keep working, clashing ones included:
// the folded index then holds the first of them in byte order, which
// blocks new look-alikes of either and renames nothing.
//
// Folding follows golang.org/x/text's Unicode tables. A later version of
// those tables could fold a newly assigned character differently; such a
// character in a name registered during a rolling upgrade between the two
// versions is the one case that could decide differently, and it is
// accepted as a limit (names are NFC and free of format characters, which
// the proposer checks first).

var (
	bucketFoldedNames = []byte("folded_names") // FoldName(username) → user id, once enabled
	metaFoldedNames   = []byte("folded_names_on")
)

// FoldName is the form two names that differ only in case (or in Unicode
// normalization) share: NFC of the full case folding of NFC.
func FoldName(name string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(name)))
}

// FoldedNamesOn reports whether the state machine refuses names whose
// folded form is taken.
func (r *ReadTx) FoldedNamesOn() bool { return r.meta.Get(metaFoldedNames) != nil }

// EnableFoldedNames indexes every existing name by its folded form and
// turns the check on. Running it again changes nothing.
func (w *WriteTx) EnableFoldedNames() error {
	if w.FoldedNamesOn() {
		return nil
	}
	b, err := w.tx.CreateBucketIfNotExists(bucketFoldedNames)
	if err != nil {
		return err
	}
	c := w.usernames.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		key := []byte(FoldName(string(k)))
		if b.Get(key) == nil {
			if err := b.Put(key, v); err != nil {
				return err
			}
		}
	}
	return w.meta.Put(metaFoldedNames, []byte{1})
}

// foldedNameTaken reports whether the check is on and name's folded form
// belongs to a user already.
func (w *WriteTx) foldedNameTaken(name string) bool {
	b := w.tx.Bucket(bucketFoldedNames)
	return w.FoldedNamesOn() && b != nil && b.Get([]byte(FoldName(name))) != nil
}

// recordFoldedName indexes a new user's name when the check is on.
func (w *WriteTx) recordFoldedName(name string, id uint64) error {
	if !w.FoldedNamesOn() {
		return nil
	}
	b := w.tx.Bucket(bucketFoldedNames)
	if b == nil { // enabled by a file that lost the bucket: cannot happen, but be safe
		var err error
		if b, err = w.tx.CreateBucketIfNotExists(bucketFoldedNames); err != nil {
			return err
		}
	}
	return b.Put([]byte(FoldName(name)), u64(id))
}

// foldedNameOwner returns the name holding name's folded form in the
// index, when the check is on.
func (r *ReadTx) foldedNameOwner(name string) (string, bool, bool) {
	if !r.FoldedNamesOn() {
		return "", false, false
	}
	b := r.tx.Bucket(bucketFoldedNames)
	if b == nil {
		return "", false, false
	}
	v := b.Get([]byte(FoldName(name)))
	if v == nil {
		return "", false, true
	}
	u, err := r.UserByID(readU64(v))
	if err != nil {
		return "", false, true
	}
	return u.Name, true, true
}
