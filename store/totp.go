package store

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Second factors (TOTP, RFC 6238) of accounts, admins' in practice: the
// "totp" bucket maps a user id to the account's shared secret, the last
// time step a code was accepted for, and the hashes of the recovery codes
// not yet spent. The store never sees a code or a recovery code, only
// what the web layer proposes (httpui/auth checks codes and hashes
// recovery codes); it keeps the rules that must hold on every replica
// alike: a step is accepted once, a recovery code once. It is a bucket of
// its own, not part of the user record, so user records keep their layout
// and a data file written before it opens with no second factors.

// totpRecordV1 is the format of a totp record: version, secret, last
// step, then the count and the recovery hashes.
const totpRecordV1 = 1

// Bounds on what a TOTP record may hold, so that a crafted command cannot
// grow one without limit.
const (
	MaxTOTPSecretBytes   = 128
	MaxRecoveryCodes     = 32
	MaxRecoveryHashBytes = 128
)

// TOTP is an account's second factor.
type TOTP struct {
	// Secret is the shared secret, base32 as authenticator apps take it.
	Secret string
	// LastStep is the last time step (Unix time / period) a code was
	// accepted for; a code of that step or an earlier one is refused.
	LastStep uint64
	// RecoveryHashes are the hashes of the recovery codes not spent yet.
	RecoveryHashes []string
}

func encodeTOTP(t TOTP) []byte {
	b := []byte{totpRecordV1}
	b = binary.AppendUvarint(b, uint64(len(t.Secret)))
	b = append(b, t.Secret...)
	b = binary.AppendUvarint(b, t.LastStep)
	b = binary.AppendUvarint(b, uint64(len(t.RecoveryHashes)))
	for _, h := range t.RecoveryHashes {
		b = binary.AppendUvarint(b, uint64(len(h)))
		b = append(b, h...)
	}
	return b
}

func decodeTOTP(id uint64, b []byte) (TOTP, error) {
	bad := fmt.Errorf("totp of user %d: malformed record", id)
	if len(b) < 1 || b[0] != totpRecordV1 {
		return TOTP{}, fmt.Errorf("totp of user %d: unknown record format", id)
	}
	rest := b[1:]
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(rest)
		if k <= 0 {
			return 0, false
		}
		rest = rest[k:]
		return v, true
	}
	str := func() (string, bool) {
		n, ok := uv()
		if !ok || n > uint64(len(rest)) {
			return "", false
		}
		s := string(rest[:n])
		rest = rest[n:]
		return s, true
	}
	var t TOTP
	var ok bool
	if t.Secret, ok = str(); !ok {
		return TOTP{}, bad
	}
	if t.LastStep, ok = uv(); !ok {
		return TOTP{}, bad
	}
	n, ok := uv()
	if !ok || n > MaxRecoveryCodes {
		return TOTP{}, bad
	}
	for range n {
		h, ok := str()
		if !ok {
			return TOTP{}, bad
		}
		t.RecoveryHashes = append(t.RecoveryHashes, h)
	}
	if len(rest) != 0 {
		return TOTP{}, bad
	}
	return t, nil
}

// TOTP returns the user's second factor, and whether the user has one.
func (r *ReadTx) TOTP(userID uint64) (TOTP, bool, error) {
	v := r.tx.Bucket(bucketTOTP).Get(u64(userID))
	if v == nil {
		return TOTP{}, false, nil
	}
	t, err := decodeTOTP(userID, v)
	return t, err == nil, err
}

// EnrollTOTP gives name a second factor: secret, the step of the code that
// confirmed it (accepted, so it cannot be used again), and the hashes of
// fresh recovery codes. It replaces any earlier one. An empty or oversized
// secret, too many recovery hashes or an empty or oversized one is refused
// with ErrInvalid.
func (w *WriteTx) EnrollTOTP(name, secret string, step uint64, recoveryHashes []string) error {
	if secret == "" || len(secret) > MaxTOTPSecretBytes || len(recoveryHashes) > MaxRecoveryCodes {
		return fmt.Errorf("%w: TOTP secret empty or longer than %d bytes, or more than %d recovery codes",
			ErrInvalid, MaxTOTPSecretBytes, MaxRecoveryCodes)
	}
	for _, h := range recoveryHashes {
		if h == "" || len(h) > MaxRecoveryHashBytes {
			return fmt.Errorf("%w: recovery code hash empty or longer than %d bytes", ErrInvalid, MaxRecoveryHashBytes)
		}
	}
	u, err := w.UserByName(name)
	if err != nil {
		return err
	}
	t := TOTP{Secret: secret, LastStep: step, RecoveryHashes: slices.Clone(recoveryHashes)}
	return w.tx.Bucket(bucketTOTP).Put(u64(u.ID), encodeTOTP(t))
}

// UseTOTP spends a second-factor code of name: with recoveryHash empty, a
// code of time step step, accepted only after the last accepted step;
// otherwise the recovery code of that hash, accepted once. It returns how
// many recovery codes are left. A spent or earlier code is refused with
// ErrCodeUsed; an account without a second factor with ErrNoTOTP.
func (w *WriteTx) UseTOTP(name string, step uint64, recoveryHash string) (uint64, error) {
	u, err := w.UserByName(name)
	if err != nil {
		return 0, err
	}
	t, ok, err := w.TOTP(u.ID)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, ErrNoTOTP
	}
	if recoveryHash != "" {
		i := slices.Index(t.RecoveryHashes, recoveryHash)
		if i < 0 {
			return uint64(len(t.RecoveryHashes)), ErrCodeUsed
		}
		t.RecoveryHashes = slices.Delete(t.RecoveryHashes, i, i+1)
	} else {
		if step <= t.LastStep {
			return uint64(len(t.RecoveryHashes)), ErrCodeUsed
		}
		t.LastStep = step
	}
	return uint64(len(t.RecoveryHashes)), w.tx.Bucket(bucketTOTP).Put(u64(u.ID), encodeTOTP(t))
}

// ResetTOTP removes name's second factor, if any, and reports whether
// there was one.
func (w *WriteTx) ResetTOTP(name string) (bool, error) {
	u, err := w.UserByName(name)
	if err != nil {
		return false, err
	}
	b := w.tx.Bucket(bucketTOTP)
	if b.Get(u64(u.ID)) == nil {
		return false, nil
	}
	return true, b.Delete(u64(u.ID))
}
