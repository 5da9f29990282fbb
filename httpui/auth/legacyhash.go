package auth

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
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

// Bounds on what a stored hash may ask for, so that a crafted one (brought
// in by an import) cannot make an unauthenticated login burn seconds of CPU
// or a gigabyte of memory. They are the ranges real deployments use, with
// room: Werkzeug's defaults are pbkdf2:sha256:600000 (1,000,000 in 3.1) and
// scrypt:32768:8:1 (exactly 32 MiB); OWASP's argon2id settings stay under
// 64 MiB and a few passes. A hash outside them is never computed.
const (
	maxLegacyIterations = 2_000_000
	maxScryptMemory     = 32 << 20 // bytes: 128·N·r
	maxScryptP          = 4
	maxArgonMemoryKiB   = 64 * 1024
	maxArgonTime        = 10
	maxArgonThreads     = 8
	// Werkzeug stores the digest size (pbkdf2) or 64 bytes (scrypt); a
	// longer key multiplies pbkdf2's work by its number of blocks.
	maxLegacyKeyLen = 64
	maxArgonKeyLen  = 128
)

// ErrHashOutOfRange is the answer for a stored hash in a known format whose
// parameters (iterations, memory, passes, lanes, key length) are outside
// the bounds above. It also matches ErrBadHash, so a caller that treats
// every unusable hash alike needs no second case.
var ErrHashOutOfRange = fmt.Errorf("%w: its parameters are outside the accepted range", ErrBadHash)

// legacyParams is a parsed legacy hash: one of pbkdf2, scrypt or a bare
// digest, with what computing it needs.
type legacyParams struct {
	kind    string // "pbkdf2", "scrypt", "md5", "sha256"
	prf     func() hash.Hash
	iter    int
	n, r, p int
	salt    []byte
	key     []byte
}

// parseLegacy parses a legacy hash and checks its parameters. Its error is
// ErrBadHash for a string in no legacy format and ErrHashOutOfRange for one
// that asks for too much; it never computes anything.
func parseLegacy(encoded string) (legacyParams, error) {
	method, rest, ok := strings.Cut(encoded, "$")
	if !ok {
		return parseBareDigest(encoded)
	}
	salt, want, ok := strings.Cut(rest, "$")
	if !ok {
		return legacyParams{}, ErrBadHash
	}
	key, err := hex.DecodeString(want)
	if err != nil || len(key) == 0 {
		return legacyParams{}, ErrBadHash
	}
	lp := legacyParams{salt: []byte(salt), key: key}
	parts := strings.Split(method, ":")
	switch {
	case parts[0] == "pbkdf2" && len(parts) == 3:
		lp.kind, lp.prf = "pbkdf2", legacyHash(parts[1])
		iter, err := strconv.Atoi(parts[2])
		if lp.prf == nil || err != nil || iter < 1 {
			return legacyParams{}, ErrBadHash
		}
		if iter > maxLegacyIterations {
			return legacyParams{}, fmt.Errorf("%w (pbkdf2 with %d iterations, at most %d)", ErrHashOutOfRange, iter, maxLegacyIterations)
		}
		lp.iter = iter
	case parts[0] == "scrypt" && len(parts) == 4:
		lp.kind = "scrypt"
		n, err1 := strconv.Atoi(parts[1])
		r, err2 := strconv.Atoi(parts[2])
		p, err3 := strconv.Atoi(parts[3])
		if err1 != nil || err2 != nil || err3 != nil || n < 2 || n&(n-1) != 0 || r < 1 || p < 1 {
			return legacyParams{}, ErrBadHash
		}
		// Compared by division so that huge n and r cannot overflow.
		if n > maxScryptMemory/128/r {
			return legacyParams{}, fmt.Errorf("%w (scrypt n=%d r=%d needs more than %d MiB)", ErrHashOutOfRange, n, r, maxScryptMemory>>20)
		}
		if p > maxScryptP {
			return legacyParams{}, fmt.Errorf("%w (scrypt p=%d, at most %d)", ErrHashOutOfRange, p, maxScryptP)
		}
		lp.n, lp.r, lp.p = n, r, p
	default:
		return legacyParams{}, ErrBadHash
	}
	if len(key) > maxLegacyKeyLen {
		return legacyParams{}, fmt.Errorf("%w (a %d-byte key, at most %d)", ErrHashOutOfRange, len(key), maxLegacyKeyLen)
	}
	return lp, nil
}

// verify computes a parsed legacy hash of password and compares it in
// constant time.
func (lp legacyParams) verify(password string) (bool, error) {
	var got []byte
	var err error
	switch lp.kind {
	case "pbkdf2":
		got, err = pbkdf2.Key(lp.prf, password, lp.salt, lp.iter, len(lp.key))
	case "scrypt":
		got, err = scrypt.Key([]byte(password), lp.salt, lp.n, lp.r, lp.p, len(lp.key))
	case "md5":
		sum := md5.Sum([]byte(password))
		got = sum[:]
	case "sha256":
		sum := sha256.Sum256([]byte(password))
		got = sum[:]
	default:
		return false, ErrBadHash
	}
	if err != nil {
		return false, ErrBadHash
	}
	return subtle.ConstantTimeCompare(got, lp.key) == 1, nil
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

// parseBareDigest parses an unsalted hex MD5 (32 digits) or SHA-256 (64).
func parseBareDigest(encoded string) (legacyParams, error) {
	want, err := hex.DecodeString(encoded)
	if err != nil {
		return legacyParams{}, ErrBadHash
	}
	switch len(want) {
	case md5.Size:
		return legacyParams{kind: "md5", key: want}, nil
	case sha256.Size:
		return legacyParams{kind: "sha256", key: want}, nil
	}
	return legacyParams{}, ErrBadHash
}

// CheckHashParams tells whether a stored password hash can be verified
// here within the bounds on work: nil for an argon2id or legacy hash in
// range, ErrHashOutOfRange (wrapped, naming the parameter) for one in a
// known format that asks for too much, and ErrBadHash for a string in no
// known format. It computes nothing, so an import can call it for every
// row; login applies the same check before hashing.
func CheckHashParams(encoded string) error {
	if strings.HasPrefix(encoded, "$argon2id$") {
		_, err := parseArgon2id(encoded)
		return err
	}
	_, err := parseLegacy(encoded)
	return err
}
