package cluster

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
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

// peerID is the node id a verified peer certificate names.
func peerID(cs tls.ConnectionState) string {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return ""
	}
	return cs.VerifiedChains[0][0].Subject.CommonName
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
func (s *Server) raftPeer(id string) bool {
	member, empty, started := s.membership(id)
	return member || empty || !started
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
		id := ""
		if r.TLS != nil {
			id = peerID(*r.TLS)
		}
		member, empty, started := s.membership(id)
		switch {
		case member:
		case !started:
			rpcFail(w, codeUnavailable, fmt.Errorf("this node is starting"))
			return
		case empty && path == rpcMemberReady:
		default:
			s.ln.guard.refuse(refusedNotMember, remoteAddr(r))
			rpcFail(w, codeNotMember, fmt.Errorf("node %q is not a member of this cluster", id))
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
