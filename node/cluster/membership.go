package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// Safe adds. A joining node enters the configuration as a non-voter: it
// receives the log like any follower but counts toward no quorum and no
// election. The leader promotes it to voter only once it has caught up
// (its applied index within promoteMaxLag of the leader's commit index)
// and serves (Start has finished: its public listener is serving and its
// status is ready), which it asks the node itself over the cluster RPC.
// So a joiner that dies right after the handshake, or never gets its
// listener up, never costs the cluster its quorum: with one voter and a
// failed joiner the voter keeps writing alone. A node that never becomes
// ready stays a non-voter (a warning after nonvoterWarnAfter says so and
// how to remove it); it is not removed automatically, because a large
// catch-up may take longer than any fixed bound. A non-voter that has
// never answered the leader at all (a client that proved the token and
// never started Raft) is removed after Config.JoinerBound.
//
// Joiners bind their listeners before they ask to join (Start binds the
// public listener first), so the common failure, a port already taken,
// happens before the cluster hears of the node at all.
const (
	// DefaultJoinerBound is how long a non-voter that has never answered
	// the leader may stay in the configuration (Config.JoinerBound).
	DefaultJoinerBound = 2 * time.Minute

	promoteEvery      = 100 * time.Millisecond
	promoteMaxLag     = 64
	nonvoterWarnAfter = time.Minute
	// minUnansweredAsks is how many times a leader itself must have found
	// a joiner past the bound unreachable before it removes it.
	minUnansweredAsks = 3
	// followerAskEvery: a follower asks an unanswered non-voter every
	// this many ticks (1 s).
	followerAskEvery = 10
)

// Readiness is a node's answer to the leader's "may I promote you".
type Readiness struct {
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Applied uint64 `json:"applied"`
}

func (s *Server) serveMemberReady(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(s.host.Readiness())
}

// IsVoter reports whether id is a voter in this node's latest
// configuration.
func (s *Server) IsVoter(id string) bool {
	return s.suffrage(raft.ServerID(id)) == raft.Voter
}

// suffrage is id's role in the latest configuration, or -1 when id is not
// a member.
func (s *Server) suffrage(id raft.ServerID) raft.ServerSuffrage {
	f := s.raft().GetConfiguration()
	if f.Error() != nil {
		return -1
	}
	for _, m := range f.Configuration().Servers {
		if m.ID == id {
			return m.Suffrage
		}
	}
	return -1
}

// AddMember has the leader add a joining node as a non-voter, from any
// member.
func (s *Server) AddMember(ctx context.Context, id, addr string) error {
	err := s.addMemberHere(ctx, id, addr)
	if !errors.Is(err, ErrNotLeaderHere) {
		return err
	}
	body, _ := json.Marshal(memberRequest{ID: id, Addr: addr})
	_, err = s.CallLeader(ctx, rpcAddMember, body, false)
	return err
}

func (s *Server) serveAddMember(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeMember(w, r, false)
	if !ok {
		return
	}
	if err := validNodeID(req.ID); err != nil {
		rpcFail(w, codeBadRequest, err)
		return
	}
	failMembership(w, s.addMemberHere(r.Context(), req.ID, req.Addr))
}

// addMemberHere adds id as a non-voter; a node already in the
// configuration keeps its role (and gets addr if it moved). Only the
// leader can.
func (s *Server) addMemberHere(ctx context.Context, id, addr string) error {
	if s.raft().State() != raft.Leader {
		return ErrNotLeaderHere
	}
	if err := s.joinTakesVoter(id, addr); err != nil {
		return err
	}
	if err := s.host.Await(ctx, s.addServer(raft.ServerID(id), raft.ServerAddress(addr))); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) { // harmless to repeat
			return ErrNotLeaderHere
		}
		return err
	}
	s.log.Info("member added as a non-voter; it becomes a voter once it has caught up and serves", "member", id, "addr", addr)
	return nil
}

// joinTakesVoter refuses a join under the id of a voter at another
// address. Re-addressing a voter through the join handshake would hand
// the voter's place, and a certificate naming it, to whoever holds the
// token: the real member is cut off, and a new node with an empty log
// would vote in its name without remembering its votes (found in the
// attack review; a second machine started with a default node id, its
// host name, does the same by mistake). A member that moved announces its
// address with its certificate (AnnounceAddress); one that lost its data
// dir is removed first and then joins again. A non-voter may be joined
// again (a joiner retrying after a failed attempt).
func (s *Server) joinTakesVoter(id, addr string) error {
	f := s.raft().GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	for _, m := range f.Configuration().Servers {
		if m.ID == raft.ServerID(id) && m.Suffrage == raft.Voter && string(m.Address) != addr {
			return &voterIDTakenError{id: id, addr: string(m.Address)}
		}
	}
	return nil
}

// voterIDTakenError: a join asked for the id of a voter elsewhere.
type voterIDTakenError struct{ id, addr string }

func (e *voterIDTakenError) Error() string {
	return fmt.Sprintf("node id %q is already a voting member of this cluster, at %s; a new node needs an id of its own, "+
		"and a member that lost its data dir must be removed first (minitwit cluster remove %s)", e.id, e.addr, e.id)
}

// addServer adds or re-addresses a server keeping its role: a voter stays
// a voter, anything else (a non-voter, a new node) is a non-voter.
func (s *Server) addServer(id raft.ServerID, addr raft.ServerAddress) raft.IndexFuture {
	if s.suffrage(id) == raft.Voter {
		return s.raft().AddVoter(id, addr, 0, 30*time.Second)
	}
	return s.raft().AddNonvoter(id, addr, 0, 30*time.Second)
}

// PromoteLoop runs on every node and acts while it leads: it promotes the
// non-voters that have caught up and serve, and removes those that never
// answered within the joiner bound. It returns when ctx ends.
//
// Every node, leader or not, notes when it first saw each non-voter, so
// the bound runs from the add, not from the latest change of leader: when
// the leader changed faster than the bound (a loaded machine on the lan
// profile changed leaders several times a second in the attack review), a
// joiner that never came up stayed a member for good. A new leader still
// asks a few times itself before removing one (minUnansweredAsks), so a
// joiner that is up is never removed for not having met earlier leaders;
// and followers ask unanswered non-voters too (once a second), so a new
// leader knows which ones ever answered.
func (s *Server) PromoteLoop(ctx context.Context) {
	t := time.NewTicker(promoteEvery)
	defer t.Stop()
	seen := map[raft.ServerID]time.Time{}  // when this node first saw a non-voter
	since := map[raft.ServerID]time.Time{} // when this leader first saw it not ready
	warned := map[raft.ServerID]bool{}
	answered := map[raft.ServerID]bool{}  // non-voters that have ever answered this node
	unanswered := map[raft.ServerID]int{} // asks without an answer, this leadership
	tick := 0
	bound := s.cfg.JoinerBound
	if bound <= 0 {
		bound = DefaultJoinerBound
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f := s.raft().GetConfiguration()
		if f.Error() != nil {
			continue
		}
		servers := f.Configuration().Servers
		now := time.Now()
		inConfig := make(map[raft.ServerID]bool, len(servers))
		for _, m := range servers {
			inConfig[m.ID] = true
			if m.Suffrage != raft.Nonvoter {
				delete(seen, m.ID)
			} else if _, ok := seen[m.ID]; !ok {
				seen[m.ID] = now
			}
		}
		for id := range seen {
			if !inConfig[id] {
				delete(seen, id)
				delete(answered, id)
			}
		}
		if s.raft().State() != raft.Leader || s.host.HandingOver() {
			clear(since)
			clear(unanswered)
			// A follower asks too (once a second, until the first
			// answer), so that as a new leader it knows a joiner that is
			// up from one that never came: only the latter is removed.
			if tick++; tick%followerAskEvery == 0 {
				for _, m := range servers {
					if m.Suffrage == raft.Nonvoter && !answered[m.ID] {
						_, answered[m.ID] = s.notReadyToVote(ctx, m)
					}
				}
			}
			continue
		}
		for _, m := range servers {
			if m.Suffrage != raft.Nonvoter {
				delete(since, m.ID)
				delete(warned, m.ID)
				delete(answered, m.ID)
				delete(unanswered, m.ID)
				continue
			}
			why, answer := s.notReadyToVote(ctx, m)
			answered[m.ID] = answered[m.ID] || answer
			if !answer {
				unanswered[m.ID]++
			}
			if why == "" {
				why = s.promote(ctx, m)
			}
			if why == "" {
				delete(since, m.ID)
				continue
			}
			if _, ok := since[m.ID]; !ok {
				since[m.ID] = time.Now()
			}
			if !answered[m.ID] && time.Since(seen[m.ID]) > bound && unanswered[m.ID] >= minUnansweredAsks {
				// Proved the token and never came up (or never
				// reached this leader): it holds a certificate, and a
				// member's place, that nothing uses.
				if err := s.removeHere(ctx, string(m.ID)); err == nil {
					s.log.Warn("removed a joiner that never came up: its certificate opens nothing now",
						"member", string(m.ID), "addr", string(m.Address), "bound", bound.String(), "reason", why)
					delete(since, m.ID)
					delete(seen, m.ID)
				}
				continue
			}
			if !warned[m.ID] && time.Since(since[m.ID]) > nonvoterWarnAfter {
				warned[m.ID] = true
				s.log.Warn("a member stays a non-voter: it has not caught up or does not serve; it counts toward no quorum. "+
					"If it is gone, remove it with `minitwit cluster remove "+string(m.ID)+"`",
					"member", string(m.ID), "addr", string(m.Address), "reason", why)
			}
		}
	}
}

// notReadyToVote asks non-voter m whether it serves and compares its
// applied index with this leader's commit index; "" means it may vote.
// answered reports that m answered at all (it is up).
func (s *Server) notReadyToVote(ctx context.Context, m raft.Server) (why string, answered bool) {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	resp, err := s.client.send(cctx, http.MethodGet, string(m.Address), rpcMemberReady, nil)
	var re *rpcError
	if errors.As(err, &re) {
		return "not ready: " + re.msg, true
	}
	if err != nil {
		return "unreachable: " + err.Error(), false
	}
	defer resp.Body.Close()
	var rd Readiness
	if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil {
		return "unreadable readiness: " + err.Error(), true
	}
	switch commit := s.raft().CommitIndex(); {
	case !rd.Ready:
		return "not ready: " + rd.Reason, true
	case rd.Applied+promoteMaxLag < commit:
		return fmt.Sprintf("catching up: applied %d of %d", rd.Applied, commit), true
	}
	return "", true
}

// promote makes non-voter m a voter; "" on success.
func (s *Server) promote(ctx context.Context, m raft.Server) string {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.host.Await(cctx, s.raft().AddVoter(m.ID, m.Address, 0, 5*time.Second)); err != nil {
		return "promotion failed: " + err.Error()
	}
	s.log.Info("member promoted to voter: it has caught up and serves", "member", string(m.ID), "addr", string(m.Address))
	return ""
}
