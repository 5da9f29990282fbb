package store

import (
	"encoding/binary"
	"fmt"
)

// Bucket names. Keys are big-endian integers so that cursors walk in id order.
var (
	bucketUsers        = []byte("users")         // user id → user record
	bucketUsernames    = []byte("usernames")     // username → user id
	bucketMessages     = []byte("messages")      // message id → message record
	bucketUserMessages = []byte("user_messages") // user id ‖ message id → empty
	bucketFollowing    = []byte("following")     // who ‖ whom → empty
	bucketFollowers    = []byte("followers")     // whom ‖ who → empty
	bucketMeta         = []byte("meta")          // see meta keys below
	bucketCerts        = []byte("certs")         // certificate storage (filled by later features)
	bucketImported     = []byte("imported")      // legacy message id → message id (imports)
	bucketAdmins       = []byte("admins")        // user id → empty, for every admin
	bucketTOTP         = []byte("totp")          // user id → second factor (totp.go)

	// allBuckets are created at open when missing, so a data file written
	// before a bucket existed opens unchanged: the new bucket starts empty,
	// which is what that file held.
	allBuckets = [][]byte{bucketUsers, bucketUsernames, bucketMessages, bucketUserMessages,
		bucketFollowing, bucketFollowers, bucketMeta, bucketCerts, bucketImported, bucketAdmins, bucketTOTP}
)

// Meta keys.
var (
	metaSchema       = []byte("schema_version")
	metaApplied      = []byte("applied_index")
	metaLatest       = []byte("latest")
	metaSessionKey   = []byte("session_key")
	metaCACert       = []byte("cluster_ca_cert")
	metaCAKey        = []byte("cluster_ca_key")
	metaJoinToken    = []byte("join_token")
	metaUserCount    = []byte("count_users")
	metaMessageCount = []byte("count_messages")
	metaFollowCount  = []byte("count_follows")
	metaFlaggedCount = []byte("count_flagged")
	// metaAdminCount is absent from files written before admins existed;
	// those files have no admin, so absent reads as 0, which is correct.
	metaAdminCount = []byte("count_admins")
)

// Meta keys of a cluster CA rotation in progress (write.go, StageCA): the
// next CA while it is staged, the previous one while both are trusted, and
// the fingerprints of the CAs rotated out.
var (
	metaCANextCert = []byte("cluster_ca_next_cert")
	metaCANextKey  = []byte("cluster_ca_next_key")
	metaCAPrevCert = []byte("cluster_ca_prev_cert")
	metaCARetired  = []byte("cluster_ca_retired")
)

// SchemaVersion is the layout version this code reads and writes.
const SchemaVersion = 1

// Record format versions, the first byte of every record, so that a later
// layout can be read next to this one.
const (
	userRecordV1    = 1
	messageRecordV1 = 1
)

const (
	userFlagAdmin = 1 << 0
	// userFlagTemporaryPassword marks a generated one-time password.
	userFlagTemporaryPassword = 1 << 1
	messageFlagFlagged        = 1 << 0
)

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func pair(a, b uint64) []byte {
	var k [16]byte
	binary.BigEndian.PutUint64(k[:8], a)
	binary.BigEndian.PutUint64(k[8:], b)
	return k[:]
}

func readU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// User is a registered account.
type User struct {
	ID           uint64
	Name         string
	Email        string
	PasswordHash string
	Admin        bool
	// TemporaryPassword: the password was generated for one sign-in (a
	// new admin's); the UI asks for a new one before anything else.
	TemporaryPassword bool
}

func encodeUser(u User) []byte {
	b := make([]byte, 0, 2+3*binary.MaxVarintLen16+len(u.Name)+len(u.Email)+len(u.PasswordHash))
	var flags byte
	if u.Admin {
		flags |= userFlagAdmin
	}
	if u.TemporaryPassword {
		flags |= userFlagTemporaryPassword
	}
	b = append(b, userRecordV1, flags)
	for _, s := range []string{u.Name, u.Email, u.PasswordHash} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func decodeUser(id uint64, b []byte) (User, error) {
	if len(b) < 2 || b[0] != userRecordV1 {
		return User{}, fmt.Errorf("user %d: unknown record format", id)
	}
	u := User{ID: id, Admin: b[1]&userFlagAdmin != 0, TemporaryPassword: b[1]&userFlagTemporaryPassword != 0}
	rest := b[2:]
	fields := [3]*string{&u.Name, &u.Email, &u.PasswordHash}
	for _, f := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return User{}, fmt.Errorf("user %d: truncated record", id)
		}
		*f = string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	return u, nil
}

// Message is one posted message. Author and Email are filled by queries that
// join the author's record; they are not stored with the message.
type Message struct {
	ID       uint64
	AuthorID uint64
	Author   string
	Email    string
	Text     string
	PubDate  int64 // Unix seconds, stamped by the node that accepted the post
	Flagged  bool
}

func encodeMessage(m Message) []byte {
	b := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(m.Text))
	var flags byte
	if m.Flagged {
		flags |= messageFlagFlagged
	}
	b = append(b, messageRecordV1, flags)
	b = binary.AppendUvarint(b, m.AuthorID)
	b = binary.AppendVarint(b, m.PubDate)
	return append(b, m.Text...)
}

// decodeMessageHead reads everything but the text, so that skipping flagged
// messages does not copy their text.
func decodeMessageHead(id uint64, b []byte) (m Message, text []byte, err error) {
	if len(b) < 2 || b[0] != messageRecordV1 {
		return Message{}, nil, fmt.Errorf("message %d: unknown record format", id)
	}
	m = Message{ID: id, Flagged: b[1]&messageFlagFlagged != 0}
	rest := b[2:]
	author, k := binary.Uvarint(rest)
	if k <= 0 {
		return Message{}, nil, fmt.Errorf("message %d: truncated record", id)
	}
	rest = rest[k:]
	pub, k := binary.Varint(rest)
	if k <= 0 {
		return Message{}, nil, fmt.Errorf("message %d: truncated record", id)
	}
	m.AuthorID, m.PubDate = author, pub
	return m, rest[k:], nil
}

func decodeMessage(id uint64, b []byte) (Message, error) {
	m, text, err := decodeMessageHead(id, b)
	m.Text = string(text)
	return m, err
}
