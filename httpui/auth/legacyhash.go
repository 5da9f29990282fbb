package auth

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Password hashes of the course's apps, which an import from a course
// database brings along: Werkzeug's "pbkdf2:<hash>:<iterations>$salt$hex"
// and "scrypt:<n>:<r>:<p>$salt$hex" (what Flask's generate_password_hash
// writes), and the bare hex MD5 or SHA-256 digests some groups stored. They
// are verified at login and then replaced by an argon2id hash (see
// httpui's loginSubmit); nothing ever writes them.

// Bounds on what a stored legacy hash may ask for, so a crafted hash cannot
// make a login burn CPU or memory.
const (
	maxLegacyIterations = 2_000_000
	maxScryptN          = 1 << 20
	maxScryptRP         = 64
)

// verifyLegacy checks password against a legacy hash. known is false when
// encoded is in none of the legacy formats.
func verifyLegacy(password, encoded string) (match, known bool) {
	method, rest, ok := strings.Cut(encoded, "$")
	if !ok {
		return verifyBareDigest(password, encoded)
	}
	salt, want, ok := strings.Cut(rest, "$")
	if !ok {
		return false, false
	}
	wantKey, err := hex.DecodeString(want)
	if err != nil || len(wantKey) == 0 || len(wantKey) > 128 {
		return false, false
	}
	parts := strings.Split(method, ":")
	var got []byte
	switch {
	case parts[0] == "pbkdf2" && len(parts) == 3:
		h := legacyHash(parts[1])
		iter, err := strconv.Atoi(parts[2])
		if h == nil || err != nil || iter < 1 || iter > maxLegacyIterations {
			return false, false
		}
		if got, err = pbkdf2.Key(h, password, []byte(salt), iter, len(wantKey)); err != nil {
			return false, false
		}
	case parts[0] == "scrypt" && len(parts) == 4:
		n, err1 := strconv.Atoi(parts[1])
		r, err2 := strconv.Atoi(parts[2])
		p, err3 := strconv.Atoi(parts[3])
		if err1 != nil || err2 != nil || err3 != nil || n < 2 || n > maxScryptN || n&(n-1) != 0 ||
			r < 1 || r > maxScryptRP || p < 1 || p > maxScryptRP {
			return false, false
		}
		if got, err = scrypt.Key([]byte(password), []byte(salt), n, r, p, len(wantKey)); err != nil {
			return false, false
		}
	default:
		return false, false
	}
	return subtle.ConstantTimeCompare(got, wantKey) == 1, true
}

func legacyHash(name string) func() hash.Hash {
	switch name {
	case "sha256":
		return sha256.New
	case "sha512":
		return sha512.New
	case "sha1":
		return sha1.New
	}
	return nil
}

// verifyBareDigest checks an unsalted hex MD5 (32 digits) or SHA-256 (64).
func verifyBareDigest(password, encoded string) (match, known bool) {
	want, err := hex.DecodeString(encoded)
	if err != nil {
		return false, false
	}
	var got []byte
	switch len(want) {
	case md5.Size:
		sum := md5.Sum([]byte(password))
		got = sum[:]
	case sha256.Size:
		sum := sha256.Sum256([]byte(password))
		got = sum[:]
	default:
		return false, false
	}
	return subtle.ConstantTimeCompare(got, want) == 1, true
}
