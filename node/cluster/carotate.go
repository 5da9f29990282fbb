package cluster

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"minitwit/store"
)

// CA rotation, a member's side. `minitwit cluster ca --rotate` moves the
// replicated state through three steps (store/carotation.go); each member
// follows what its own replica says, checked every caFollowEvery:
//
//   - the CAs it trusts (incoming and outgoing TLS) are the replica's
//     current CA and, during a rotation, the staged next one or the
//     previous one. A CA the replica does not know of is kept (a lagging
//     replica, a joiner catching up, is never a reason to distrust what
//     the cluster already trusts); one it records as retired is dropped;
//   - once the replica's current CA is not the one its certificate comes
//     from, and that one is being rotated out, it issues itself a
//     certificate of the current CA (it holds the key in its replica), for
//     the same key, and presents it from then on.
//
// Both are written to the data dir (tls/ca.crt holds every trusted CA)
// before they are used, so the admin tools, which read them there, and a
// restart see the same. The tool moves on to the next step only once every
// member reports (/members, CAState) that it has followed the last one, so
// a member never presents a certificate that another one does not trust
// yet, and the old CA is only retired once nobody presents it.
const caFollowEvery = 200 * time.Millisecond

// CAState is what a member reports of the cluster CA (MembersReport.CA):
// fingerprints (CAFingerprint) of the CA its certificate comes from, of the
// CAs it trusts, and of the CAs its replica records.
type CAState struct {
	Cert    string   `json:"cert"`
	Trusted []string `json:"trusted"`
	// Current is the cluster's CA, which issues certificates; Next a CA
	// staged to replace it (step 1), Previous the one being rotated out
	// (step 2).
	Current  string `json:"current"`
	Next     string `json:"next,omitempty"`
	Previous string `json:"previous,omitempty"`
}

// Rotating reports whether a CA rotation is under way.
func (st CAState) Rotating() bool { return st.Next != "" || st.Previous != "" }

// CAFingerprint is a certificate's SHA-256, in hex, as the CA state
// reports it.
func CAFingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// CAPEMFingerprint is CAFingerprint of a PEM certificate ("" if it is not
// one).
func CAPEMFingerprint(certPEM []byte) string {
	c, err := parseCertPEM(certPEM)
	if err != nil {
		return ""
	}
	return CAFingerprint(c)
}

// CAState reports this node's CA state.
func (s *Server) CAState() (CAState, error) {
	var sec store.ClusterSecrets
	if err := s.host.LocalStore().View(func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil }); err != nil {
		return CAState{}, err
	}
	trust := s.tls.trust.Load()
	st := CAState{Current: CAPEMFingerprint(sec.CACert), Next: CAPEMFingerprint(sec.CANextCert), Previous: CAPEMFingerprint(sec.CAPrevCert)}
	if own := trust.issuer(s.tls.cert.Load().Leaf); own != nil {
		st.Cert = CAFingerprint(own)
	}
	for _, c := range trust.cas {
		st.Trusted = append(st.Trusted, CAFingerprint(c))
	}
	return st, nil
}

// followCA brings this node's trusted CAs and certificate in line with its
// replica (see above); it reports whether anything changed.
func (s *Server) followCA() (bool, error) {
	var sec store.ClusterSecrets
	if err := s.host.LocalStore().View(func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil }); err != nil {
		return false, err
	}
	if len(sec.CACert) == 0 {
		return false, nil // a joiner before its first entries
	}
	current, err := parseCertPEM(sec.CACert)
	if err != nil {
		return false, fmt.Errorf("the cluster CA in the replicated state: %w", err)
	}
	var previous *x509.Certificate
	want := []*x509.Certificate{current}
	for _, p := range [][]byte{sec.CANextCert, sec.CAPrevCert} {
		if len(p) == 0 {
			continue
		}
		c, err := parseCertPEM(p)
		if err != nil {
			return false, fmt.Errorf("a CA in the replicated state: %w", err)
		}
		want = append(want, c)
		if bytes.Equal(p, sec.CAPrevCert) {
			previous = c
		}
	}
	retired := func(c *x509.Certificate) bool {
		sum := sha256.Sum256(c.Raw)
		for _, r := range sec.CARetired {
			if bytes.Equal(r, sum[:]) {
				return true
			}
		}
		return false
	}
	has := func(list []*x509.Certificate, c *x509.Certificate) bool {
		for _, x := range list {
			if x.Equal(c) {
				return true
			}
		}
		return false
	}
	trust := s.tls.trust.Load()
	for _, c := range trust.cas {
		if !retired(c) && !has(want, c) {
			want = append(want, c)
		}
	}

	// This node's certificate, from a CA being rotated out: one of the
	// current CA, for the same key.
	cur := s.tls.cert.Load()
	var newCert []byte
	if own := trust.issuer(cur.Leaf); own != nil && !own.Equal(current) && ((previous != nil && own.Equal(previous)) || retired(own)) {
		if member, _, started := s.membership(s.tls.id); started && member {
			ca, err := ParseCA(sec.CACert, sec.CAKey)
			if err != nil {
				return false, err
			}
			key, ok := cur.PrivateKey.(*ecdsa.PrivateKey)
			if !ok {
				return false, errors.New("the node key is not an ECDSA key")
			}
			if newCert, err = ca.Issue(s.tls.id, &key.PublicKey); err != nil {
				return false, err
			}
		}
	}

	sameTrust := len(want) == len(trust.cas)
	for _, c := range want {
		sameTrust = sameTrust && has(trust.cas, c)
	}
	if sameTrust && newCert == nil {
		return false, nil
	}
	var bundle []byte
	for _, c := range want {
		bundle = append(bundle, pemBlock("CERTIFICATE", c.Raw)...)
	}
	ts, err := newTrustSet(bundle)
	if err != nil {
		return false, err
	}
	certPEM := s.tls.CertPEM()
	if newCert != nil {
		certPEM = newCert
	}
	if s.cfg.DataDir != "" {
		if err := SaveTLS(s.cfg.DataDir, bundle, certPEM, s.tls.keyPEM); err != nil {
			return false, fmt.Errorf("saving the cluster CAs and certificate: %w", err)
		}
	}
	s.tls.trust.Store(ts)
	fps := make([]string, len(ts.cas))
	for i, c := range ts.cas {
		fps[i] = shortFingerprint(CAFingerprint(c))
	}
	if newCert != nil {
		pair, err := tls.X509KeyPair(newCert, s.tls.keyPEM)
		if err != nil {
			return false, err
		}
		if pair.Leaf, err = parseCertPEM(newCert); err != nil {
			return false, err
		}
		s.tls.cert.Store(&pair)
		// Requests from now on go out on connections that present it.
		s.client.newConnections()
		s.log.Info("this node's cluster certificate is now from the new cluster CA", "ca", shortFingerprint(CAFingerprint(current)),
			"expires", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if !sameTrust {
		s.log.Info("the cluster CAs this node trusts changed", "trusted", fps)
	}
	return true, nil
}

// shortFingerprint is the part of a fingerprint shown in logs and status.
func shortFingerprint(fp string) string {
	if len(fp) > 16 {
		return fp[:16]
	}
	return fp
}

// trustedChain reports whether a verified chain ends in a CA this node
// still trusts (one retired since the handshake does not count).
func (s *Server) trustedChain(cs *tls.ConnectionState) bool {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return false
	}
	chain := cs.VerifiedChains[0]
	return s.tls.trust.Load().has(chain[len(chain)-1])
}

// TrustedCAsIn returns the CAs a node's data dir trusts (tls/ca.crt), PEM
// by fingerprint: `cluster ca --rotate` names the CA of a step by its
// certificate, which it reads there.
func TrustedCAsIn(dataDir string) (map[string][]byte, error) {
	t, err := LoadTLS(dataDir)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("no node certificate in %s (has a node run there?)", dataDir)
	}
	out := map[string][]byte{}
	for _, c := range t.trust.Load().cas {
		out[CAFingerprint(c)] = pemBlock("CERTIFICATE", c.Raw)
	}
	return out, nil
}

// writeAtomic replaces path with data (readable by the owner only) through
// a synced temporary file renamed over it, so a reader never sees it half
// written: the node rewrites its certificate files while it runs (a CA
// rotation, a renewal) and the admin tools read them meanwhile.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
