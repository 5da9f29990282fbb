// Package auth owns the cryptography and policy of signing in, apart from
// HTTP: password hashing (argon2id, with a bound on how many hashes run at
// once), verification of the legacy hashes a course database brings along
// (Werkzeug pbkdf2/scrypt, bare MD5/SHA-256), the minimum length of a chosen
// password, and the rate limiter of admin sign-ins.
//
// It is a leaf (the standard library and golang.org/x/crypto only), so the
// node (the first admin), the importer and `minitwit admin` hash passwords
// the same way the web UI does without importing the HTTP layer.
//
// Choices:
//   - Argon2id with OWASP's low-memory setting and two lanes (password.go
//     says why); the parameters travel in every hash, so they can be raised
//     later without breaking stored ones.
//   - Legacy hashes verify only, never get written, and are bounded in the
//     work they may ask for; the caller replaces one after a match.
//   - The login limiter is per process and in memory (see LoginLimiter).
package auth
