// Package auth owns the cryptography and policy of signing in, apart from
// HTTP: password hashing (argon2id, with a bound on how many hashes run at
// once), verification of the legacy hashes a course database brings along
// (Werkzeug pbkdf2/scrypt, bare MD5/SHA-256), the minimum length of a chosen
// password, the rate limiter of admin sign-ins, and admins' second factor:
// TOTP codes (RFC 6238) and recovery codes (totp.go).
//
// It is a leaf (the standard library, golang.org/x/crypto and
// github.com/pquerna/otp for TOTP only), so the
// node (the first admin), the importer and `minitwit admin` hash passwords
// the same way the web UI does without importing the HTTP layer.
//
// Choices:
//   - Argon2id with OWASP's low-memory setting and two lanes (password.go
//     says why); the parameters travel in every hash, so they can be raised
//     later without breaking stored ones.
//   - Legacy hashes verify only, never get written; the caller replaces one
//     after a match.
//   - Every stored hash, legacy or argon2id, is bounded in the work it may
//     ask for (legacyhash.go lists the ranges real deployments use); one
//     outside is ErrHashOutOfRange and is never computed. CheckHashParams
//     applies the same check without computing, for imports.
//   - The login limiter is per process and in memory (see LoginLimiter).
//   - TOTP through github.com/pquerna/otp, the usual Go implementation, with
//     the parameters every authenticator app reads; the step of each
//     accepted code is remembered by the caller in the replicated state,
//     so a code is good once. Recovery codes are random (80 bits), so they
//     are stored as SHA-256 hashes, not with a password hash's cost.
package auth
