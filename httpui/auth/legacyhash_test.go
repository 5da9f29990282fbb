package auth

import (
	"context"
	"errors"
	"testing"
)

// TestLegacyHashes: the hash formats of the course's apps, with vectors
// made by Python's hashlib (what Werkzeug calls), verify with the right
// password only; malformed or greedy ones are refused as unknown.
func TestLegacyHashes(t *testing.T) {
	t.Parallel()
	const pw = "secret pw ü"
	h := NewHasher()
	ctx := context.Background()
	for _, encoded := range []string{
		"scrypt:32768:8:1$AbCdEfGh12345678$3895f8a6879212f867cd666578c134626fd074fca65d24de06d7b6e68d503a4d8a19d42d35fc3d8247096030506f5012cb50c36aee45137005c0d2153bc92000",
		"pbkdf2:sha256:600000$AbCdEfGh12345678$447ba0f20b50eb5294b8269d63b7618d4caa4f9c98173ad997c6acb8e9a19c14",
		"pbkdf2:sha1:1000$AbCdEfGh12345678$7d3a0161032660855c6eeaebfcf069bab50b59f8",
		"17abdc5e6ac322194520d06a76dba438",
		"1947c440abc7d39b67157bbb92a0ce7a906d537ef104c78780e5c5d9ff807ffc",
	} {
		match, legacy, err := h.Verify(ctx, pw, encoded)
		if err != nil || !match || !legacy {
			t.Errorf("%.30s...: match %t legacy %t err %v", encoded, match, legacy, err)
		}
		if match, _, _ := h.Verify(ctx, pw+"x", encoded); match {
			t.Errorf("%.30s...: a wrong password matched", encoded)
		}
	}
	for _, bad := range []string{
		"pbkdf2:md5:1000$salt$abcd",
		"pbkdf2:sha256:999999999$salt$abcd",
		"scrypt:1048577:8:1$salt$abcd",
		"scrypt:32768:8:1$salt$not-hex",
		"plain text password",
		"abcd",
	} {
		if _, _, err := h.Verify(ctx, pw, bad); !errors.Is(err, ErrBadHash) {
			t.Errorf("%q: %v, want ErrBadHash", bad, err)
		}
	}
	// argon2id hashes still verify, and are not legacy.
	hash, _ := h.Hash(ctx, pw)
	if match, legacy, err := h.Verify(ctx, pw, hash); !match || legacy || err != nil {
		t.Errorf("argon2id: %t %t %v", match, legacy, err)
	}
}
