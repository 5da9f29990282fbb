package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzLegacyHash: the stored-hash parsers never panic, classify every
// string as usable, out of range or unknown, and never let through a hash
// whose parameters are outside the bounds. Verify, which the login calls,
// agrees with CheckHashParams; it is only run on inputs cheap enough to
// compute (the bounds still allow a second of work per input).
func FuzzLegacyHash(f *testing.F) {
	for _, seed := range []string{
		"scrypt:32768:8:1$AbCdEfGh12345678$3895f8a6879212f867cd666578c134626fd074fca65d24de06d7b6e68d503a4d",
		"scrypt:1048576:8:1$salt$abcd",
		"scrypt:16:1:1$salt$abcd",
		"scrypt:2:9223372036854775807:1$s$ab",
		"pbkdf2:sha256:600000$AbCdEfGh12345678$447ba0f20b50eb5294b8269d63b7618d4caa4f9c98173ad997c6acb8e9a19c14",
		"pbkdf2:sha1:1$s$7d3a0161",
		"pbkdf2:md5:1000$salt$abcd",
		"pbkdf2:sha512:-1$$",
		"17abdc5e6ac322194520d06a76dba438",
		"1947c440abc7d39b67157bbb92a0ce7a906d537ef104c78780e5c5d9ff807ffc",
		"$argon2id$v=19$m=7168,t=5,p=2$c29tZXNhbHRzb21lc2FsdA$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"$argon2id$v=19$m=262144,t=16,p=255$c29tZXNhbHQ$AAEC",
		"$argon2id$v=19$m=8,t=1,p=1$$AA",
		"$argon2id$v=18$m=8,t=1,p=1$c2FsdA$AAEC",
		"", "$", "$$", ":::$$", "scrypt", "plain text",
	} {
		f.Add(seed, "secret pw ü")
	}
	h := NewHasher()
	f.Fuzz(func(t *testing.T, encoded, password string) {
		err := CheckHashParams(encoded)
		if err != nil && !errors.Is(err, ErrBadHash) {
			t.Fatalf("CheckHashParams(%q) = %v, not an ErrBadHash", encoded, err)
		}
		if err == nil {
			wantInRange(t, encoded)
		}
		if err != nil || cheap(encoded) {
			_, legacy, verr := h.Verify(context.Background(), password, encoded)
			if (err == nil) != (verr == nil) || errors.Is(err, ErrHashOutOfRange) != errors.Is(verr, ErrHashOutOfRange) {
				t.Fatalf("%q: CheckHashParams says %v, Verify %v", encoded, err, verr)
			}
			if verr == nil && legacy == strings.HasPrefix(encoded, "$argon2id$") {
				t.Fatalf("%q: legacy %t", encoded, legacy)
			}
		}
	})
}

// wantInRange fails the test when a hash CheckHashParams accepted asks for
// more than the bounds, checked from the parsed parameters.
func wantInRange(t *testing.T, encoded string) {
	t.Helper()
	if strings.HasPrefix(encoded, "$argon2id$") {
		a, err := parseArgon2id(encoded)
		if err != nil || a.memory > maxArgonMemoryKiB || a.time > maxArgonTime || a.threads > maxArgonThreads || len(a.key) > maxArgonKeyLen {
			t.Fatalf("%q accepted with %+v, %v", encoded, a, err)
		}
		return
	}
	lp, err := parseLegacy(encoded)
	if err != nil || lp.iter > maxLegacyIterations || lp.p > maxScryptP || len(lp.key) > maxLegacyKeyLen ||
		(lp.kind == "scrypt" && int64(lp.n)*int64(lp.r)*128 > maxScryptMemory) {
		t.Fatalf("%q accepted with %+v, %v", encoded, lp, err)
	}
}

// cheap tells whether a hash CheckHashParams accepted costs at most a few
// milliseconds to verify, so the fuzzer can afford to run Verify on it.
func cheap(encoded string) bool {
	if strings.HasPrefix(encoded, "$argon2id$") {
		a, err := parseArgon2id(encoded)
		return err == nil && uint64(a.memory)*uint64(a.time) <= 1024
	}
	lp, err := parseLegacy(encoded)
	return err == nil && lp.iter <= 10_000 && int64(lp.n)*int64(lp.r)*int64(lp.p) <= 1<<12
}
