package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestHashParamsOutOfRange: stored hashes that ask for more work than real
// deployments use (the crafted ones that made a login take 13-18 s and a
// gigabyte) are refused by CheckHashParams and by Verify before any
// hashing: each answer comes at once, as ErrHashOutOfRange (which is also
// ErrBadHash, so login answers as for a wrong password). Hashes at the
// bounds and the defaults of Werkzeug and of this package still pass.
func TestHashParamsOutOfRange(t *testing.T) {
	t.Parallel()
	const key64 = "3895f8a6879212f867cd666578c134626fd074fca65d24de06d7b6e68d503a4d8a19d42d35fc3d8247096030506f5012cb50c36aee45137005c0d2153bc92000"
	const b64salt, b64key = "c29tZXNhbHRzb21lc2FsdA", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	h := NewHasher()
	ctx := context.Background()
	for _, bad := range []string{
		"scrypt:1048576:8:1$salt$" + key64,             // 1 GiB
		"scrypt:65536:8:1$salt$" + key64,               // 64 MiB
		"scrypt:32768:16:1$salt$" + key64,              // 64 MiB through r
		"scrypt:2:4611686018427387904:1$salt$" + key64, // would overflow n·r
		"scrypt:4611686018427387904:8:1$salt$" + key64,
		"scrypt:32768:8:255$salt$" + key64,
		"scrypt:1024:8:1$salt$" + strings.Repeat("ab", 65), // key longer than Werkzeug's
		"pbkdf2:sha256:2000001$salt$abcd",
		"pbkdf2:sha256:999999999999$salt$abcd",
		"pbkdf2:sha1:1000$salt$" + strings.Repeat("ab", 128),
		"$argon2id$v=19$m=262144,t=16,p=255$" + b64salt + "$" + b64key,
		"$argon2id$v=19$m=65537,t=1,p=1$" + b64salt + "$" + b64key,
		"$argon2id$v=19$m=7168,t=11,p=1$" + b64salt + "$" + b64key,
		"$argon2id$v=19$m=7168,t=5,p=9$" + b64salt + "$" + b64key,
		"$argon2id$v=19$m=4294967296,t=1,p=1$" + b64salt + "$" + b64key, // beyond uint32
		"$argon2id$v=19$m=7168,t=5,p=2$" + b64salt + "$" + strings.Repeat("A", 200),
	} {
		start := time.Now()
		err := CheckHashParams(bad)
		if !errors.Is(err, ErrHashOutOfRange) || !errors.Is(err, ErrBadHash) {
			t.Errorf("CheckHashParams(%.50q) = %v, want ErrHashOutOfRange", bad, err)
		}
		match, legacy, err := h.Verify(ctx, "pw", bad)
		if match || legacy || !errors.Is(err, ErrHashOutOfRange) {
			t.Errorf("Verify(%.50q) = %t %t %v, want ErrHashOutOfRange", bad, match, legacy, err)
		}
		// Refused before hashing: far less than the crafted hashes take
		// when computed (seconds), with room for a loaded machine.
		if d := time.Since(start); d > time.Second {
			t.Errorf("%.50q: refused after %v; it was computed", bad, d)
		}
	}

	// Unknown formats stay ErrBadHash only.
	for _, unknown := range []string{"", "plain", "scrypt:3:8:1$s$abcd", "$argon2id$v=19$m=x,t=1,p=1$a$b",
		"$argon2id$v=19$m=07168,t=5,p=2$" + b64salt + "$" + b64key} {
		if err := CheckHashParams(unknown); !errors.Is(err, ErrBadHash) || errors.Is(err, ErrHashOutOfRange) {
			t.Errorf("CheckHashParams(%q) = %v, want ErrBadHash only", unknown, err)
		}
	}

	// In range: the bounds themselves, Werkzeug's defaults, our own hashes.
	ours := HashPassword("pw")
	for _, good := range []string{
		ours,
		"$argon2id$v=19$m=65536,t=10,p=8$" + b64salt + "$" + b64key,
		"scrypt:32768:8:1$AbCdEfGh12345678$" + key64,
		"scrypt:16384:16:4$salt$" + key64,
		"pbkdf2:sha256:600000$salt$abcd",
		"pbkdf2:sha256:2000000$salt$abcd",
		"pbkdf2:sha512:1000000$salt$" + key64,
		"17abdc5e6ac322194520d06a76dba438",
	} {
		if err := CheckHashParams(good); err != nil {
			t.Errorf("CheckHashParams(%.50q) = %v, want nil", good, err)
		}
	}
	if match, _, err := h.Verify(ctx, "pw", ours); !match || err != nil {
		t.Errorf("our own hash: %t %v", match, err)
	}
}
