package store_test

import (
	"bytes"
	"encoding/pem"
	"errors"
	"testing"

	"minitwit/store"
)

func fakeCert(b byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: bytes.Repeat([]byte{b}, 40)})
}

// TestCARotationSteps: stage, switch and retire move the CA through the
// three states; each step repeated is a no-op, a step out of order or
// naming another CA is refused and changes nothing; the retired CA's
// fingerprint is kept and it cannot be staged again; a cluster restore
// (KeepClusterIdentity) carries the rotation state.
func TestCARotationSteps(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	old, next, other := fakeCert(1), fakeCert(2), fakeCert(3)
	secrets := func() store.ClusterSecrets {
		var sec store.ClusterSecrets
		s.View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil })
		return sec
	}
	refused := func(what string, f func(w *store.WriteTx) error) {
		t.Helper()
		before := secrets()
		if err := s.Update(f); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("%s: %v, want ErrInvalid", what, err)
		}
		if after := secrets(); !equalSecrets(before, after) {
			t.Fatalf("%s changed the secrets", what)
		}
	}
	refused("stage before any CA", func(w *store.WriteTx) error { return w.StageCA(next, []byte("k2")) })
	mustUpdate(t, s, func(w *store.WriteTx) error {
		return w.InitSecrets(store.ClusterSecrets{CACert: old, CAKey: []byte("k1"), JoinToken: []byte("t")})
	})
	refused("stage without a key", func(w *store.WriteTx) error { return w.StageCA(next, nil) })
	refused("stage a non-certificate", func(w *store.WriteTx) error { return w.StageCA([]byte("x"), []byte("k")) })
	refused("switch before stage", func(w *store.WriteTx) error { return w.SwitchCA(next) })
	refused("retire before switch", func(w *store.WriteTx) error { return w.RetireCA(old) })

	mustUpdate(t, s, func(w *store.WriteTx) error { return w.StageCA(next, []byte("k2")) })
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.StageCA(next, []byte("k2")) }) // again: no-op
	if sec := secrets(); !bytes.Equal(sec.CACert, old) || !bytes.Equal(sec.CANextCert, next) || !bytes.Equal(sec.CANextKey, []byte("k2")) {
		t.Fatalf("after stage: %+v", sec)
	}
	refused("stage another during a rotation", func(w *store.WriteTx) error { return w.StageCA(other, []byte("k3")) })
	refused("switch to another", func(w *store.WriteTx) error { return w.SwitchCA(other) })

	mustUpdate(t, s, func(w *store.WriteTx) error { return w.SwitchCA(next) })
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.SwitchCA(next) }) // again: no-op
	sec := secrets()
	if !bytes.Equal(sec.CACert, next) || !bytes.Equal(sec.CAKey, []byte("k2")) || !bytes.Equal(sec.CAPrevCert, old) || sec.CANextCert != nil || sec.CANextKey != nil {
		t.Fatalf("after switch: %+v", sec)
	}
	refused("retire the current CA", func(w *store.WriteTx) error { return w.RetireCA(next) })

	mustUpdate(t, s, func(w *store.WriteTx) error { return w.RetireCA(old) })
	mustUpdate(t, s, func(w *store.WriteTx) error { return w.RetireCA(old) }) // again: no-op
	sec = secrets()
	if !bytes.Equal(sec.CACert, next) || sec.CAPrevCert != nil || len(sec.CARetired) != 1 || !bytes.Equal(sec.CARetired[0], store.CAFingerprint(old)) {
		t.Fatalf("after retire: %+v", sec)
	}
	refused("stage a retired CA", func(w *store.WriteTx) error { return w.StageCA(old, []byte("k1")) })

	// A restore onto a file from before the rotation keeps the cluster's
	// rotation state.
	s2 := openTemp(t)
	mustUpdate(t, s2, func(w *store.WriteTx) error {
		return w.InitSecrets(store.ClusterSecrets{CACert: old, CAKey: []byte("k1"), JoinToken: []byte("t")})
	})
	mustUpdate(t, s2, func(w *store.WriteTx) error { return w.StageCA(other, []byte("k3")) })
	mustUpdate(t, s2, func(w *store.WriteTx) error { return w.KeepClusterIdentity(sec) })
	var got store.ClusterSecrets
	s2.View(func(r *store.ReadTx) error { got = r.Secrets(); return nil })
	if !equalSecrets(got, sec) {
		t.Fatalf("restored identity %+v, want %+v", got, sec)
	}
}

func equalSecrets(a, b store.ClusterSecrets) bool {
	if len(a.CARetired) != len(b.CARetired) {
		return false
	}
	for i := range a.CARetired {
		if !bytes.Equal(a.CARetired[i], b.CARetired[i]) {
			return false
		}
	}
	return bytes.Equal(a.CACert, b.CACert) && bytes.Equal(a.CAKey, b.CAKey) && bytes.Equal(a.CANextCert, b.CANextCert) &&
		bytes.Equal(a.CANextKey, b.CANextKey) && bytes.Equal(a.CAPrevCert, b.CAPrevCert) && bytes.Equal(a.JoinToken, b.JoinToken)
}
