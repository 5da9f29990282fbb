package httpui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// Sign-ins to ordinary accounts are limited like an admin's (see
// loginLimiter) with a budget generous enough for people and the course's
// UI tests: per address 20 failures, then one every 10 s; per account 20,
// then one every 10 s. Admin accounts keep their stricter budget.
var userLoginBudget = loginBudget{ipBurst: 20, accountBurst: 20, ipEvery: 10 * time.Second, accountEvery: 10 * time.Second}

// dummyHashOnce makes the hash an unknown name's password is checked
// against: an argon2id hash with the parameters of every new password, of
// a random password nobody knows.
var (
	dummyHashOnce sync.Once
	dummyHashVal  string
)

func (s *Server) dummyHash() string {
	dummyHashOnce.Do(func() { dummyHashVal = HashPassword(rand.Text()) })
	return dummyHashVal
}

// nameHash is what the log keeps of a name typed at sign-in: enough to
// tell repeated attempts at one name apart from a spread, not the text
// (which is sometimes a password typed into the wrong field).
func nameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:6])
}
