package store

import "fmt"

// Imports from a course database (the `user`, `follower`, `message`
// tables): users arrive as registrations and follows as follows, both
// idempotent already. Messages need a record of which legacy message became
// which message here, so that importing the same database twice posts
// nothing the second time; that record is the "imported" bucket.

// ImportMessage posts a message of a course database once: a legacy id
// seen before returns the message it became, changing nothing. The message
// keeps its time and, being posted in legacy id order by the importer, its
// order; flagged hides it as SetFlag does.
func (w *WriteTx) ImportMessage(legacyID uint64, author, text string, pubDate int64, flagged bool) (uint64, error) {
	b := w.tx.Bucket(bucketImported)
	if v := b.Get(u64(legacyID)); v != nil {
		return readU64(v), nil
	}
	id, err := w.Post(author, text, pubDate)
	if err != nil {
		return 0, err
	}
	if flagged {
		if err := w.SetFlag(id, true); err != nil {
			return 0, err
		}
	}
	return id, b.Put(u64(legacyID), u64(id))
}

// ImportedMessages counts the legacy messages imported so far.
func (r *ReadTx) ImportedMessages() int { return r.tx.Bucket(bucketImported).Stats().KeyN }

// ReplacePasswordHash sets user's password hash to newHash if it is still
// oldHash (a login upgrading a legacy hash; a concurrent change of the
// password wins). It reports whether it replaced it.
func (w *WriteTx) ReplacePasswordHash(user, oldHash, newHash string) (bool, error) {
	if len(newHash) > MaxHashBytes {
		return false, fmt.Errorf("%w: password hash too long", ErrInvalid)
	}
	u, err := w.UserByName(user)
	if err != nil {
		return false, err
	}
	if u.PasswordHash != oldHash {
		return false, nil
	}
	u.PasswordHash = newHash
	if err := w.putUser(u); err != nil {
		return false, err
	}
	return true, nil
}
