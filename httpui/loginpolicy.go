package httpui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"minitwit/httpui/auth"
)

// dummyHashOnce makes the hash an unknown name's password is checked
// against: an argon2id hash with the parameters of every new password, of
// a random password nobody knows.
var (
	dummyHashOnce sync.Once
	dummyHashVal  string
)

func (s *Server) dummyHash() string {
	dummyHashOnce.Do(func() { dummyHashVal = auth.HashPassword(rand.Text()) })
	return dummyHashVal
}

// nameHash is what the log keeps of a name typed at sign-in: enough to
// tell repeated attempts at one name apart from a spread, not the text
// (which is sometimes a password typed into the wrong field).
func nameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:6])
}
