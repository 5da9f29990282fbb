package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ReadTx is a consistent, read-only view of the data. It is valid only inside
// the function given to [Store.View] or [Store.Update].
type ReadTx struct {
	tx                                   *bolt.Tx
	users, usernames, messages, userMsgs *bolt.Bucket
	following, followers, meta           *bolt.Bucket
	authors                              map[uint64]User // per-transaction cache for joins
}

func newReadTx(tx *bolt.Tx) *ReadTx {
	return &ReadTx{
		tx:        tx,
		users:     tx.Bucket(bucketUsers),
		usernames: tx.Bucket(bucketUsernames),
		messages:  tx.Bucket(bucketMessages),
		userMsgs:  tx.Bucket(bucketUserMessages),
		following: tx.Bucket(bucketFollowing),
		followers: tx.Bucket(bucketFollowers),
		meta:      tx.Bucket(bucketMeta),
	}
}

// UserByName finds a user by exact name.
func (r *ReadTx) UserByName(name string) (User, error) {
	id := readU64(r.usernames.Get([]byte(name)))
	if id == 0 {
		return User{}, ErrUnknownUser
	}
	return r.UserByID(id)
}

// UserByID finds a user by id.
func (r *ReadTx) UserByID(id uint64) (User, error) {
	if u, ok := r.authors[id]; ok {
		return u, nil
	}
	v := r.users.Get(u64(id))
	if v == nil {
		return User{}, ErrUnknownUser
	}
	u, err := decodeUser(id, v)
	if err != nil {
		return User{}, err
	}
	if r.authors == nil {
		r.authors = make(map[uint64]User)
	}
	r.authors[id] = u
	return u, nil
}

// IsFollowing reports whether who follows whom.
func (r *ReadTx) IsFollowing(who, whom uint64) bool {
	return hasKey(r.following, pair(who, whom))
}

// hasKey tests for a key in a set-like bucket. Get cannot tell an empty
// value from a missing key inside a write transaction, so seek instead.
func hasKey(b *bolt.Bucket, key []byte) bool {
	k, _ := b.Cursor().Seek(key)
	return bytes.Equal(k, key)
}

// Follows lists up to limit users that who follows, in the order they
// registered.
func (r *ReadTx) Follows(who uint64, limit int) ([]User, error) {
	out := []User{}
	if limit <= 0 {
		return out, nil
	}
	prefix := u64(who)
	c := r.following.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		u, err := r.UserByID(readU64(k[8:]))
		if err != nil {
			return nil, fmt.Errorf("follows of %d: %w", who, err)
		}
		out = append(out, u)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// Message returns one message (flagged or not) with its author joined.
func (r *ReadTx) Message(id uint64) (Message, error) {
	v := r.messages.Get(u64(id))
	if v == nil {
		return Message{}, ErrUnknownMessage
	}
	m, err := decodeMessage(id, v)
	if err != nil {
		return Message{}, err
	}
	return m, r.joinAuthor(&m)
}

func (r *ReadTx) joinAuthor(m *Message) error {
	u, err := r.UserByID(m.AuthorID)
	if err != nil {
		return fmt.Errorf("message %d: author %d: %w", m.ID, m.AuthorID, err)
	}
	m.Author, m.Email = u.Name, u.Email
	return nil
}

// Latest is the last recorded simulator action id; ok is false before any
// was recorded.
func (r *ReadTx) Latest() (latest int64, ok bool) {
	v := r.meta.Get(metaLatest)
	if v == nil {
		return 0, false
	}
	return int64(readU64(v)), true
}

// SessionKey is the cluster-wide key that signs browser sessions; nil until
// the first leader has set it.
func (r *ReadTx) SessionKey() []byte {
	if v := r.meta.Get(metaSessionKey); v != nil {
		return bytes.Clone(v)
	}
	return nil
}

// Secrets returns the cluster secrets stored so far (copies).
func (r *ReadTx) Secrets() ClusterSecrets {
	get := func(k []byte) []byte {
		if v := r.meta.Get(k); v != nil {
			return bytes.Clone(v)
		}
		return nil
	}
	return ClusterSecrets{SessionKey: get(metaSessionKey), CACert: get(metaCACert), CAKey: get(metaCAKey), JoinToken: get(metaJoinToken),
		CANextCert: get(metaCANextCert), CANextKey: get(metaCANextKey), CAPrevCert: get(metaCAPrevCert), CARetired: splitFingerprints(get(metaCARetired))}
}

// AppliedIndex is the Raft index of the last log entry applied to this file.
func (r *ReadTx) AppliedIndex() uint64 { return readU64(r.meta.Get(metaApplied)) }

// Counts are the sizes of the data set.
type Counts struct {
	Users, Messages, Follows, Flagged, Admins uint64
}

// Counts reads the maintained counters (no scan).
func (r *ReadTx) Counts() Counts {
	return Counts{
		Users:    readU64(r.meta.Get(metaUserCount)),
		Messages: readU64(r.meta.Get(metaMessageCount)),
		Follows:  readU64(r.meta.Get(metaFollowCount)),
		Flagged:  readU64(r.meta.Get(metaFlaggedCount)),
		Admins:   r.adminCount(),
	}
}

// FlaggedMessages returns up to limit flagged messages, newest first. It
// walks the messages from the newest and stops once it has found as many
// as the flagged counter says exist, so its cost is bounded by how far
// back the oldest flagged message lies.
func (r *ReadTx) FlaggedMessages(limit int) ([]Message, error) {
	want := int(r.Counts().Flagged)
	var out []Message
	c := r.messages.Cursor()
	for k, v := c.Last(); k != nil && len(out) < min(limit, want); k, v = c.Prev() {
		m, err := decodeMessage(readU64(k), v)
		if err != nil {
			return nil, err
		}
		if !m.Flagged {
			continue
		}
		if err := r.joinAuthor(&m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
