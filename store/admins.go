package store

import (
	"fmt"
)

// Admins: a user is an admin when its record's admin flag is set. The
// "admins" bucket indexes their ids, so listing admins reads only them, and
// count_admins in meta counts them, so the last-admin rule needs no scan.
// The flag, the index and the counter change together in one transaction.
// Data files written before admins existed have none of the three, which
// reads as "no admins": exactly what those files held.

// RegisterAdmin creates a user who is an admin and returns its id. It
// validates and refuses as Register does.
func (w *WriteTx) RegisterAdmin(name, email, passwordHash string) (uint64, error) {
	return w.register(User{Name: name, Email: email, PasswordHash: passwordHash, Admin: true})
}

// RegisterFirstAdmin creates a cluster's first admin, as RegisterAdmin does,
// and refuses with ErrAdminExists when any admin exists. A node proposes it
// when it starts a new cluster; whether it applies depends only on the
// replicated state, so every replica decides alike, and a proposal repeated
// after a restart is refused instead of creating a second admin. The admin
// check comes before the name check, so a repeat says ErrAdminExists, not
// ErrNameTaken.
func (w *WriteTx) RegisterFirstAdmin(name, email, passwordHash string) (uint64, error) {
	if w.adminCount() > 0 {
		return 0, ErrAdminExists
	}
	return w.RegisterAdmin(name, email, passwordHash)
}

// SetAdmin grants (admin) or revokes a user's admin rights. Setting the
// value the user already has changes nothing. Revoking the only admin is
// refused with ErrLastAdmin, so a cluster always keeps someone who can
// reach its admin pages.
func (w *WriteTx) SetAdmin(name string, admin bool) error {
	u, err := w.UserByName(name)
	if err != nil {
		return err
	}
	if u.Admin == admin {
		return nil
	}
	if !admin && w.adminCount() <= 1 {
		return ErrLastAdmin
	}
	u.Admin = admin
	if err := w.putUser(u); err != nil {
		return err
	}
	if admin {
		return w.addAdmin(u.ID)
	}
	if err := w.tx.Bucket(bucketAdmins).Delete(u64(u.ID)); err != nil {
		return err
	}
	return w.addCounter(metaAdminCount, -1)
}

// SetPasswordHash replaces a user's password hash unconditionally (an admin
// resetting a password, a user choosing a new one; compare
// ReplacePasswordHash) and clears the one-time mark. An empty hash would
// leave an account no password matches, so it is refused with ErrInvalid,
// as is one longer than MaxHashBytes.
func (w *WriteTx) SetPasswordHash(name, hash string) error {
	if hash == "" || len(hash) > MaxHashBytes {
		return fmt.Errorf("%w: password hash empty or longer than %d bytes", ErrInvalid, MaxHashBytes)
	}
	u, err := w.UserByName(name)
	if err != nil {
		return err
	}
	if u.PasswordHash == hash && !u.TemporaryPassword {
		return nil
	}
	u.PasswordHash, u.TemporaryPassword = hash, false
	return w.putUser(u)
}

// MarkPasswordTemporary flags a user's password as a one-time password,
// which the UI makes them replace at their next sign-in. SetPasswordHash
// clears the flag; a legacy hash upgrade (ReplacePasswordHash) keeps it,
// since the password stays the same.
func (w *WriteTx) MarkPasswordTemporary(name string) error {
	u, err := w.UserByName(name)
	if err != nil {
		return err
	}
	if u.TemporaryPassword {
		return nil
	}
	u.TemporaryPassword = true
	return w.putUser(u)
}

// addAdmin indexes and counts a user whose record already has the flag.
func (w *WriteTx) addAdmin(id uint64) error {
	if err := w.tx.Bucket(bucketAdmins).Put(u64(id), nil); err != nil {
		return err
	}
	return w.addCounter(metaAdminCount, 1)
}

func (r *ReadTx) adminCount() uint64 { return readU64(r.meta.Get(metaAdminCount)) }

// Admins lists up to limit admins in the order they registered. It reads the
// admin index only, never the whole users bucket.
func (r *ReadTx) Admins(limit int) ([]User, error) {
	out := []User{}
	if limit <= 0 {
		return out, nil
	}
	c := r.tx.Bucket(bucketAdmins).Cursor()
	for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
		u, err := r.UserByID(readU64(k))
		if err != nil {
			return nil, fmt.Errorf("admin %d: %w", readU64(k), err)
		}
		out = append(out, u)
	}
	return out, nil
}
