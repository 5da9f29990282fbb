package store

import (
	"fmt"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"minitwit/store/username"
)

// Limits on stored values. Handlers check them first so that a client gets a
// clear 400; the store checks again so that nothing oversized is ever written.
const (
	MaxUsernameBytes = username.MaxBytes
	MaxEmailBytes    = 254
	MaxMessageBytes  = 8192
	MaxHashBytes     = 512
)

// ValidateUsername checks a name against the data model's rules (see
// username.Check), as an ErrInvalid.
func ValidateUsername(name string) error {
	if err := username.Check(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// ValidateText checks a message text: valid UTF-8, at most MaxMessageBytes.
func ValidateText(text string) error {
	switch {
	case len(text) > MaxMessageBytes:
		return fmt.Errorf("%w: message longer than %d bytes", ErrInvalid, MaxMessageBytes)
	case !utf8.ValidString(text):
		return fmt.Errorf("%w: message is not valid UTF-8", ErrInvalid)
	}
	return nil
}

// WriteTx is a read-write transaction. Every operation validates first and
// returns a typed error without writing, or writes completely.
type WriteTx struct {
	*ReadTx
	tx *bolt.Tx
}

func (w *WriteTx) addCounter(key []byte, delta int64) error {
	return w.meta.Put(key, u64(uint64(int64(readU64(w.meta.Get(key)))+delta)))
}

// Register creates a user and returns its id.
func (w *WriteTx) Register(name, email, passwordHash string) (uint64, error) {
	return w.register(User{Name: name, Email: email, PasswordHash: passwordHash})
}

// register validates u and creates it (an admin too when u.Admin), filling
// in its id.
func (w *WriteTx) register(u User) (uint64, error) {
	if err := ValidateUsername(u.Name); err != nil {
		return 0, err
	}
	if len(u.Email) > MaxEmailBytes || !utf8.ValidString(u.Email) || len(u.PasswordHash) > MaxHashBytes {
		return 0, fmt.Errorf("%w: email or password hash too long or not UTF-8", ErrInvalid)
	}
	if w.usernames.Get([]byte(u.Name)) != nil {
		return 0, ErrNameTaken
	}
	if w.foldedNameTaken(u.Name) {
		// The longer message tells a look-alike from the same name: it
		// travels with the refusal to a remote proposer (raftfsm's
		// result codes keep only the sentinel), and the importer counts
		// the same name as already there but a look-alike as skipped.
		return 0, fmt.Errorf("%w: %q differs from an existing name only in case or Unicode form", ErrNameTaken, u.Name)
	}
	id, err := w.users.NextSequence()
	if err != nil {
		return 0, err
	}
	u.ID = id
	if err := w.users.Put(u64(id), encodeUser(u)); err != nil {
		return 0, err
	}
	if err := w.usernames.Put([]byte(u.Name), u64(id)); err != nil {
		return 0, err
	}
	if err := w.recordFoldedName(u.Name, id); err != nil {
		return 0, err
	}
	if u.Admin {
		if err := w.addAdmin(id); err != nil {
			return 0, err
		}
	}
	return id, w.addCounter(metaUserCount, 1)
}

// putUser rewrites an existing user's record. UserByID caches users for the
// transaction, and later reads in it (a batch of commands) must see the
// change, so the cached copy is dropped.
func (w *WriteTx) putUser(u User) error {
	delete(w.authors, u.ID)
	return w.users.Put(u64(u.ID), encodeUser(u))
}

// Post records a message by the named author and returns its id. Ids grow
// monotonically, so the newest message has the largest id.
func (w *WriteTx) Post(author, text string, pubDate int64) (uint64, error) {
	if err := ValidateText(text); err != nil {
		return 0, err
	}
	u, err := w.UserByName(author)
	if err != nil {
		return 0, err
	}
	id, err := w.messages.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := w.messages.Put(u64(id), encodeMessage(Message{AuthorID: u.ID, Text: text, PubDate: pubDate})); err != nil {
		return 0, err
	}
	if err := w.userMsgs.Put(pair(u.ID, id), nil); err != nil {
		return 0, err
	}
	return id, w.addCounter(metaMessageCount, 1)
}

func (w *WriteTx) followPair(who, whom string) (User, User, error) {
	a, err := w.UserByName(who)
	if err != nil {
		return User{}, User{}, err
	}
	b, err := w.UserByName(whom)
	if err != nil {
		return User{}, User{}, err
	}
	if a.ID == b.ID {
		return User{}, User{}, ErrFollowSelf
	}
	return a, b, nil
}

// Follow makes who follow whom. Following twice keeps one follow.
func (w *WriteTx) Follow(who, whom string) error {
	a, b, err := w.followPair(who, whom)
	if err != nil || w.IsFollowing(a.ID, b.ID) {
		return err
	}
	if err := w.following.Put(pair(a.ID, b.ID), nil); err != nil {
		return err
	}
	if err := w.followers.Put(pair(b.ID, a.ID), nil); err != nil {
		return err
	}
	return w.addCounter(metaFollowCount, 1)
}

// Unfollow removes a follow; removing one that does not exist is not an error.
func (w *WriteTx) Unfollow(who, whom string) error {
	a, b, err := w.followPair(who, whom)
	if err != nil || !w.IsFollowing(a.ID, b.ID) {
		return err
	}
	if err := w.following.Delete(pair(a.ID, b.ID)); err != nil {
		return err
	}
	if err := w.followers.Delete(pair(b.ID, a.ID)); err != nil {
		return err
	}
	return w.addCounter(metaFollowCount, -1)
}

// SetFlag hides (flagged) or shows a message everywhere.
func (w *WriteTx) SetFlag(id uint64, flagged bool) error {
	v := w.messages.Get(u64(id))
	if v == nil {
		return ErrUnknownMessage
	}
	m, err := decodeMessage(id, v)
	if err != nil {
		return err
	}
	if m.Flagged == flagged {
		return nil
	}
	m.Flagged = flagged
	if err := w.messages.Put(u64(id), encodeMessage(m)); err != nil {
		return err
	}
	delta := int64(1)
	if !flagged {
		delta = -1
	}
	return w.addCounter(metaFlaggedCount, delta)
}

// SetLatest records the simulator's latest action id.
func (w *WriteTx) SetLatest(latest int64) error {
	return w.meta.Put(metaLatest, u64(uint64(latest)))
}

// ClusterSecrets are set once per cluster: each field is stored unless it
// is already set (the first proposal wins, so racing leaders agree), and an
// empty field is left alone.
type ClusterSecrets struct {
	SessionKey []byte // signs browser sessions on every node
	CACert     []byte // PEM: the internode certificate authority
	CAKey      []byte // PEM: its key, so any member can admit a joining node
	JoinToken  []byte // what a joining node must prove it knows

	// A CA rotation (carotation.go); InitSecrets ignores these.
	CANextCert, CANextKey []byte   // PEM: the staged next CA
	CAPrevCert            []byte   // PEM: the CA being rotated out, still trusted
	CARetired             [][]byte // SHA-256 fingerprints of the CAs rotated out
}

// InitSecrets stores the secrets that are not set yet.
func (w *WriteTx) InitSecrets(s ClusterSecrets) error {
	if len(s.SessionKey) != 0 && len(s.SessionKey) < 32 {
		return fmt.Errorf("%w: session key shorter than 32 bytes", ErrInvalid)
	}
	if (len(s.CACert) == 0) != (len(s.CAKey) == 0) {
		return fmt.Errorf("%w: the CA certificate and key come together", ErrInvalid)
	}
	for _, kv := range []struct{ key, value []byte }{
		{metaSessionKey, s.SessionKey}, {metaCACert, s.CACert}, {metaCAKey, s.CAKey}, {metaJoinToken, s.JoinToken},
	} {
		if len(kv.value) == 0 || w.meta.Get(kv.key) != nil {
			continue
		}
		if err := w.meta.Put(kv.key, kv.value); err != nil {
			return err
		}
	}
	return nil
}

// KeepClusterIdentity overwrites the internode CA (with the state of a CA
// rotation) and the join token with s's (its other fields are ignored): a
// backup restored into a running cluster takes that cluster's identity, so
// its members and certificates stay valid.
func (w *WriteTx) KeepClusterIdentity(s ClusterSecrets) error {
	if len(s.CACert) == 0 || len(s.CAKey) == 0 || len(s.JoinToken) == 0 {
		return fmt.Errorf("%w: the cluster's CA and join token are needed", ErrInvalid)
	}
	for _, kv := range []struct{ key, value []byte }{{metaCACert, s.CACert}, {metaCAKey, s.CAKey}, {metaJoinToken, s.JoinToken}} {
		if err := w.meta.Put(kv.key, kv.value); err != nil {
			return err
		}
	}
	return w.keepCARotation(s)
}

// MinJoinTokenLen is the shortest join token a rotation may set: a
// rotated token is made by `minitwit cluster token --rotate` (64 hex
// characters), so a short one is a mistake, not a choice.
const MinJoinTokenLen = 32

// RotateJoinToken replaces the join token (unlike InitSecrets, which
// keeps the first one): every member refuses the old token for new joins
// from this transaction on.
func (w *WriteTx) RotateJoinToken(token []byte) error {
	if len(token) < MinJoinTokenLen {
		return fmt.Errorf("%w: a join token must be at least %d characters", ErrInvalid, MinJoinTokenLen)
	}
	if w.meta.Get(metaJoinToken) == nil {
		return fmt.Errorf("%w: the cluster has no join token yet to rotate", ErrInvalid)
	}
	return w.meta.Put(metaJoinToken, token)
}

// SetAppliedIndex records the Raft index this transaction brings the file to.
func (w *WriteTx) SetAppliedIndex(index uint64) error {
	return w.meta.Put(metaApplied, u64(index))
}
