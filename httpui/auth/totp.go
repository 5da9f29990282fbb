package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// Second factors: time-based one-time passwords (TOTP, RFC 6238) as every
// authenticator app makes them (30-second steps, six digits, HMAC-SHA1,
// 160-bit secrets), through github.com/pquerna/otp, and recovery codes.
//
// A code is accepted for the current step and one step either side (clock
// drift), and only for a step after the last one accepted, so a code seen
// over a shoulder or in a proxy's log cannot be replayed within its
// window: the caller keeps the last step in the replicated state
// (store.UseTOTP refuses a step at or before it on every node).
//
// Recovery codes carry 80 random bits each, so a fast hash (SHA-256) is
// enough to keep them out of the data file and backups: there is no
// dictionary to try, unlike passwords.

const (
	// TOTPPeriod is the length of a time step.
	TOTPPeriod = 30 * time.Second
	// totpSkew is how many steps either side of the current one are
	// accepted.
	totpSkew = 1
	// totpSecretBytes is the secret's size: 160 bits, RFC 4226's
	// recommendation.
	totpSecretBytes = 20
	// RecoveryCodeCount is how many recovery codes an enrollment makes.
	RecoveryCodeCount = 10
	// recoveryCodeBytes is a recovery code's randomness: 80 bits.
	recoveryCodeBytes = 10
)

var (
	totpOpts    = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)
)

// NewTOTPKey makes a fresh secret for account at issuer. The key's URL is
// the otpauth:// URI authenticator apps read from a QR code; its Secret is
// what they take typed in.
func NewTOTPKey(issuer, account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: uint(TOTPPeriod / time.Second),
		SecretSize: totpSecretBytes, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// TOTPKey is the key of an existing secret, as NewTOTPKey made it: the
// enrollment page shows the same one again after a mistyped code.
func TOTPKey(issuer, account, secret string) (*otp.Key, error) {
	raw, err := base32NoPad.DecodeString(secret)
	if err != nil || len(raw) != totpSecretBytes {
		return nil, otp.ErrValidateSecretInvalidBase32
	}
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: uint(TOTPPeriod / time.Second),
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// ValidTOTPSecret reports whether s is a secret NewTOTPKey could have made
// (base32 without padding, 160 bits): what an enrollment form sends back
// is checked with it before it is stored.
func ValidTOTPSecret(s string) bool {
	raw, err := base32NoPad.DecodeString(s)
	return err == nil && len(raw) == totpSecretBytes
}

// TOTPStep is the time step of t.
func TOTPStep(t time.Time) uint64 { return uint64(t.Unix()) / uint64(TOTPPeriod/time.Second) }

// TOTPCode is the code of secret at t (for tests and the CLI's checks).
func TOTPCode(secret string, t time.Time) (string, error) {
	return hotp.GenerateCodeCustom(secret, TOTPStep(t), totpOpts)
}

// Refusals of VerifyTOTP.
var (
	ErrWrongCode = errors.New("wrong code")
	// ErrCodeReused is a right code of a step at or before the last
	// accepted one: it was used already.
	ErrCodeReused = errors.New("code used already")
)

// VerifyTOTP checks code against secret at now, accepting only steps after
// after (the last accepted one), and returns the step it matched. Spaces
// in the code are ignored; anything but six digits never matches.
func VerifyTOTP(secret, code string, now time.Time, after uint64) (uint64, error) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != totpOpts.Digits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, ErrWrongCode
	}
	cur := TOTPStep(now)
	reused := false
	for _, s := range []uint64{cur, cur - totpSkew, cur + totpSkew} {
		if match, err := hotp.ValidateCustom(code, s, secret, totpOpts); err != nil || !match {
			continue
		}
		if s > after {
			return s, nil
		}
		reused = true
	}
	if reused {
		return 0, ErrCodeReused
	}
	return 0, ErrWrongCode
}

// NewRecoveryCodes makes RecoveryCodeCount recovery codes, to be shown
// once, and their hashes, to be stored.
func NewRecoveryCodes() (codes, hashes []string) {
	for range RecoveryCodeCount {
		b := make([]byte, recoveryCodeBytes)
		rand.Read(b) // never fails (crypto/rand)
		s := strings.ToLower(base32NoPad.EncodeToString(b))
		code := s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
		codes = append(codes, code)
		hashes = append(hashes, HashRecoveryCode(code))
	}
	return codes, hashes
}

// normalizeRecovery drops what people type around a recovery code
// (dashes, spaces, case).
func normalizeRecovery(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
}

// IsRecoveryCode reports whether input has the shape of a recovery code
// (not whether it is one), so one field can take either a TOTP code or a
// recovery code.
func IsRecoveryCode(input string) bool {
	n := normalizeRecovery(input)
	raw, err := base32NoPad.DecodeString(n)
	return err == nil && len(raw) == recoveryCodeBytes
}

// HashRecoveryCode is the stored form of a recovery code.
func HashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte("minitwit recovery code\x00" + normalizeRecovery(code)))
	return hex.EncodeToString(sum[:])
}
