package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"minitwit/store"
)

// Certificate renewal. A node certificate lives nodeCertValidity (90
// days); a member renews its own once less than renewBefore is left, or at
// once when it holds one from before the bound (ten years), from the CA in
// the replicated state (a member holds the CA key: boundary.go). Only a
// member renews: a node removed from the configuration keeps the
// certificate it has until it expires, and that certificate opens nothing
// anyway. The renewed certificate keeps the node's key, is written to the
// data dir (the admin tools read it there) and replaces the one in use
// without a restart: new connections present it, open ones keep theirs.
const (
	renewBefore = 30 * 24 * time.Hour
	renewEvery  = time.Hour
)

// RenewLoop checks this node's certificate at start and every hour until
// ctx ends, and follows a CA rotation (carotate.go) every caFollowEvery.
func (s *Server) RenewLoop(ctx context.Context) {
	t := time.NewTicker(renewEvery)
	defer t.Stop()
	follow := time.NewTicker(caFollowEvery)
	defer follow.Stop()
	var lastFollowErr string
	for renew := true; ; {
		if renew {
			if _, err := s.RenewIfDue(time.Now()); err != nil {
				s.log.Warn("renewing this node's cluster certificate failed; will retry", "err", err.Error(),
					"expires", s.tls.NotAfter().UTC().Format(time.RFC3339))
			}
		}
		if _, err := s.followCA(); err != nil && err.Error() != lastFollowErr {
			// Once per distinct error: it is retried every caFollowEvery.
			lastFollowErr = err.Error()
			s.log.Warn("following the cluster CA failed; will retry", "err", lastFollowErr)
		} else if err == nil {
			lastFollowErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			renew = true
		case <-follow.C:
			renew = false
		}
	}
}

// RenewIfDue renews this node's certificate when, at now, it is due and
// this node is a member; it reports whether it did.
func (s *Server) RenewIfDue(now time.Time) (bool, error) {
	leaf := s.tls.cert.Load().Leaf
	due := leaf.NotAfter.Sub(now) < renewBefore || leaf.NotAfter.Sub(leaf.NotBefore) > nodeCertValidity+2*time.Hour
	if !due {
		return false, nil
	}
	if member, _, started := s.membership(s.tls.id); !started || !member {
		return false, nil
	}
	var sec store.ClusterSecrets
	if err := s.host.LocalStore().View(func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil }); err != nil {
		return false, fmt.Errorf("reading the cluster CA: %w", err)
	}
	if len(sec.CAKey) == 0 {
		return false, errors.New("the replicated state holds no cluster CA yet")
	}
	ca, err := ParseCA(sec.CACert, sec.CAKey)
	if err != nil {
		return false, err
	}
	if leaf.CheckSignatureFrom(ca.cert) != nil {
		// A CA rotation is under way: followCA re-issues it.
		return false, errors.New("this node's certificate is not from the cluster's current CA")
	}
	cur := s.tls.cert.Load()
	key, ok := cur.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return false, errors.New("the node key is not an ECDSA key")
	}
	certPEM, err := ca.Issue(s.tls.id, &key.PublicKey)
	if err != nil {
		return false, err
	}
	if s.cfg.DataDir != "" {
		if err := SaveTLS(s.cfg.DataDir, s.tls.CAPEM(), certPEM, s.tls.keyPEM); err != nil {
			return false, fmt.Errorf("saving the renewed certificate: %w", err)
		}
	}
	pair, err := tls.X509KeyPair(certPEM, s.tls.keyPEM)
	if err != nil {
		return false, err
	}
	pair.Leaf, err = parseCertPEM(certPEM)
	if err != nil {
		return false, err
	}
	s.tls.cert.Store(&pair)
	s.log.Info("renewed this node's cluster certificate", "expires", pair.Leaf.NotAfter.UTC().Format(time.RFC3339),
		"was", leaf.NotAfter.UTC().Format(time.RFC3339))
	return true, nil
}
