package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/raftfsm"
	"minitwit/store"
)

// Membership is the boundary. A member holds a full replica, the cluster
// CA's key included, so a member can do anything; what the port enforces is
// that only current members reach it. Every cluster RPC and every Raft
// connection is checked against this node's latest Raft configuration: the
// node id the peer's certificate names (its common name, set by the CA)
// must be a server in it. A certificate of the CA whose node id is not in
// the configuration opens nothing, and a member that is removed is refused
// by each member as soon as that member has the configuration change: its
// requests fail with not_member, and its open Raft connections are closed
// (sweepEvery).
//
// A node whose configuration is still empty (a joiner that has not yet
// received its first entries from the leader) has nothing to check
// against; it accepts the leader's Raft connections and answers
// /member-ready, nothing else. A joiner needs no RPC of its own: the join
// continues on its join connection, and it is in the configuration (as a
// non-voter) from the moment it has proven the token (join.go).

// sweepEvery is how often open Raft connections of peers that left the
// configuration are looked for.
const sweepEvery = 200 * time.Millisecond

// peerCert is a peer's verified certificate (nil: none).
func peerCert(cs tls.ConnectionState) *x509.Certificate {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return nil
	}
	return cs.VerifiedChains[0][0]
}

// certID is the node id a certificate names ("" for none).
func certID(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	return cert.Subject.CommonName
}

// revoked reports whether cert was issued for its node id before that id
// was removed from the cluster (RevokeNode, recorded in the replicated
// state by the leader that removed it). A failed read (the node is
// stopping) is an error: the caller keeps the port shut rather than guess.
func (s *Server) revoked(cert *x509.Certificate) (bool, error) {
	var before int64
	if err := s.host.LocalStore().View(func(tx *store.ReadTx) error { before = tx.CertsRevokedBefore(certID(cert)); return nil }); err != nil {
		return true, err
	}
	// Certificate times are whole seconds, so a certificate issued in the
	// second of the removal (a quick re-join) would read as older than it;
	// it counts as new. One issued earlier in that same second belonged
	// to a member being removed, which the membership check refuses.
	return before != 0 && cert.NotBefore.Add(certBackdate).Unix() < time.Unix(0, before).Unix(), nil
}

// revoke records in the replicated state that id's certificates issued so
// far open nothing (the leader, after removing id). A cluster with members
// older than the command's format refuses it: the removal stands, without
// the record.
func (s *Server) revoke(ctx context.Context, id string) {
	_, err := s.host.Propose(ctx, &raftfsm.RevokeNode{ID: id, Before: time.Now().UnixNano()})
	if err != nil {
		s.log.Warn("recording the removed node's certificates as revoked failed; they stay refused while the id is not a member",
			"member", id, "err", err.Error())
	}
}

// membership is what this node's latest configuration says of id: whether
// it is a server, and whether the configuration is empty (a joiner before
// its first entries). started is false while Raft is not running yet.
func (s *Server) membership(id string) (member, empty, started bool) {
	r := s.raft()
	if r == nil {
		return false, false, false
	}
	f := r.GetConfiguration()
	if f.Error() != nil {
		return false, false, true
	}
	servers := f.Configuration().Servers
	for _, m := range servers {
		if m.ID == raft.ServerID(id) {
			return true, false, true
		}
	}
	return false, len(servers) == 0, true
}

// raftPeer says whether id may open a Raft connection: a member, or anyone
// of the CA while this node knows no configuration (or Raft is not running
// yet, when nothing is served on the connection before it is).
func (s *Server) raftPeer(cert *x509.Certificate) bool {
	if cert != nil && s.tls.trust.Load().issuer(cert) == nil {
		return false // its CA was rotated out since the handshake
	}
	member, empty, started := s.membership(certID(cert))
	if member {
		revoked, err := s.revoked(cert)
		return !revoked && err == nil
	}
	return empty || !started
}

// sweep closes the Raft connections of peers that left the configuration,
// until done closes.
func (s *Server) sweep(done <-chan struct{}) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			s.ln.closeRaftConns(s.raftPeer)
		}
	}
}

// membersOnly refuses a cluster RPC from a peer whose certificate's node
// id is not in this node's configuration.
func (s *Server) membersOnly(path string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var cert *x509.Certificate
		if r.TLS != nil {
			cert = peerCert(*r.TLS)
		}
		id := certID(cert)
		member, empty, started := s.membership(id)
		revoked := false
		if member {
			var err error
			if revoked, err = s.revoked(cert); err != nil {
				// The node is stopping (its store is closed): nothing is
				// done here, the caller finds the leader elsewhere.
				rpcFail(w, codeNotLeader, fmt.Errorf("%w: this node cannot read its state: %w", ErrNotLeaderHere, err))
				return
			}
		}
		if cert != nil && !s.trustedChain(r.TLS) {
			// A certificate of a CA rotated out since this connection's
			// handshake (carotate.go).
			s.ln.guard.refuse(refusedNotMember, remoteAddr(r))
			rpcFail(w, codeNotMember, fmt.Errorf("the certificate of node %q is from a cluster CA that was rotated out", id))
			return
		}
		switch {
		case member && !revoked:
		case !started:
			rpcFail(w, codeUnavailable, fmt.Errorf("this node is starting"))
			return
		case empty && path == rpcMemberReady:
		default:
			s.ln.guard.refuse(refusedNotMember, remoteAddr(r))
			// The answer ends the connection: a non-member has nothing
			// more to ask, and an open one costs the node a descriptor.
			w.Header().Set("Connection", "close")
			why := fmt.Errorf("node %q is not a member of this cluster", id)
			if revoked {
				why = fmt.Errorf("this certificate of node %q was revoked when the node was removed", id)
			}
			rpcFail(w, codeNotMember, why)
			return
		}
		h(w, r)
	}
}

// remoteAddr is a request's peer address for the port guard's counts.
func remoteAddr(r *http.Request) net.Addr { return stringAddr(r.RemoteAddr) }

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
