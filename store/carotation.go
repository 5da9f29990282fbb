package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/pem"
	"fmt"
)

// A cluster CA rotation (`minitwit cluster ca --rotate`,
// node/cluster/DESIGN.md) goes through three steps, each one a replicated
// command, so that every member moves through the same states in the same
// order:
//
//  1. StageCA: the next CA (certificate and key) is stored next to the
//     current one. Members trust both; certificates are still issued by
//     the current one.
//  2. SwitchCA: the next CA becomes the current one (it issues from now
//     on); the previous one is kept, trusted, until every member holds a
//     certificate of the new one.
//  3. RetireCA: the previous CA is dropped and its fingerprint recorded as
//     retired, so a member that still has it in its own trust list (a
//     lagging replica is never a reason to drop a CA it does not know)
//     drops it too. Its key is gone from the state: a removed member that
//     kept the old key can mint nothing the cluster trusts.
//
// Each step checks the state it expects and names the CA it acts on, so a
// repeated step (a retry after an unknown outcome) is a no-op and a stale
// one (another rotation started meanwhile) is refused.

// CAFingerprint is the SHA-256 of a PEM certificate's DER bytes (nil when
// certPEM holds no certificate).
func CAFingerprint(certPEM []byte) []byte {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil
	}
	sum := sha256.Sum256(block.Bytes)
	return sum[:]
}

// StageCA stores certPEM and keyPEM as the next cluster CA.
func (w *WriteTx) StageCA(certPEM, keyPEM []byte) error {
	fp := CAFingerprint(certPEM)
	switch cur, next, prev := w.meta.Get(metaCACert), w.meta.Get(metaCANextCert), w.meta.Get(metaCAPrevCert); {
	case fp == nil || len(keyPEM) == 0:
		return fmt.Errorf("%w: a new CA needs a PEM certificate and its key", ErrInvalid)
	case cur == nil:
		return fmt.Errorf("%w: the cluster has no CA yet to rotate", ErrInvalid)
	case bytes.Equal(next, certPEM) || bytes.Equal(cur, certPEM):
		return nil // this rotation is staged already (or further on)
	case next != nil || prev != nil:
		return fmt.Errorf("%w: another CA rotation is in progress; run 'minitwit cluster ca --rotate' again to finish it", ErrInvalid)
	case w.retired(fp):
		return fmt.Errorf("%w: that CA was rotated out before", ErrInvalid)
	}
	if err := w.meta.Put(metaCANextCert, certPEM); err != nil {
		return err
	}
	return w.meta.Put(metaCANextKey, keyPEM)
}

// SwitchCA makes the staged CA certPEM the current one; the current one
// stays trusted as the previous CA.
func (w *WriteTx) SwitchCA(certPEM []byte) error {
	cur, next := w.meta.Get(metaCACert), w.meta.Get(metaCANextCert)
	switch {
	case bytes.Equal(cur, certPEM):
		return nil // switched already
	case next == nil || !bytes.Equal(next, certPEM):
		return fmt.Errorf("%w: that CA is not the staged next CA", ErrInvalid)
	}
	nextKey := bytes.Clone(w.meta.Get(metaCANextKey))
	for _, kv := range []struct{ key, value []byte }{{metaCAPrevCert, bytes.Clone(cur)}, {metaCACert, bytes.Clone(next)}, {metaCAKey, nextKey}} {
		if err := w.meta.Put(kv.key, kv.value); err != nil {
			return err
		}
	}
	if err := w.meta.Delete(metaCANextCert); err != nil {
		return err
	}
	return w.meta.Delete(metaCANextKey)
}

// RetireCA drops the previous CA certPEM from the trusted ones and records
// its fingerprint as retired.
func (w *WriteTx) RetireCA(certPEM []byte) error {
	fp := CAFingerprint(certPEM)
	prev := w.meta.Get(metaCAPrevCert)
	switch {
	case fp == nil:
		return fmt.Errorf("%w: not a PEM certificate", ErrInvalid)
	case prev == nil && w.retired(fp):
		return nil // retired already
	case prev == nil || !bytes.Equal(prev, certPEM):
		return fmt.Errorf("%w: that CA is not the one being rotated out", ErrInvalid)
	}
	list := append(bytes.Clone(w.meta.Get(metaCARetired)), fp...)
	if err := w.meta.Put(metaCARetired, list); err != nil {
		return err
	}
	return w.meta.Delete(metaCAPrevCert)
}

func (w *WriteTx) retired(fp []byte) bool {
	for _, r := range splitFingerprints(w.meta.Get(metaCARetired)) {
		if bytes.Equal(r, fp) {
			return true
		}
	}
	return false
}

// keepCARotation overwrites the rotation state with s's (a cluster
// restore: KeepClusterIdentity).
func (w *WriteTx) keepCARotation(s ClusterSecrets) error {
	for _, kv := range []struct{ key, value []byte }{
		{metaCANextCert, s.CANextCert}, {metaCANextKey, s.CANextKey}, {metaCAPrevCert, s.CAPrevCert}, {metaCARetired, bytes.Join(s.CARetired, nil)},
	} {
		var err error
		if len(kv.value) == 0 {
			err = w.meta.Delete(kv.key)
		} else {
			err = w.meta.Put(kv.key, kv.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// splitFingerprints reads the retired list (SHA-256 fingerprints one after
// the other).
func splitFingerprints(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= sha256.Size {
		out = append(out, b[:sha256.Size:sha256.Size])
		b = b[sha256.Size:]
	}
	return out
}
