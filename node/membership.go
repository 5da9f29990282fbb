package node

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
// catch-up may take longer than any fixed bound.
//
// Joiners bind their listeners before they ask to join (Start binds the
// public listener first), so the common failure, a port already taken,
// happens before the cluster hears of the node at all.
const (
	rpcAddMember   = "/add-member"
	rpcMemberReady = "/member-ready"

	promoteEvery      = 100 * time.Millisecond
	promoteMaxLag     = 64
	nonvoterWarnAfter = time.Minute
)

// memberReadiness is a node's answer to the leader's "may I promote you".
type memberReadiness struct {
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Applied uint64 `json:"applied"`
}

func (n *Node) membershipRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+rpcAddMember, n.rpcServeAddMember)
	mux.HandleFunc("GET "+rpcMemberReady, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(n.readiness())
	})
}

// readiness says whether this node serves and how far it has applied.
func (n *Node) readiness() memberReadiness {
	st := n.Status()
	rd := memberReadiness{Ready: st.Ready && n.up.Load(), Reason: st.Reason, Applied: n.raft.AppliedIndex()}
	switch {
	case !n.up.Load():
		rd.Reason = "still starting: the public listener is not serving yet"
	case n.heldForTest.Load():
		rd.Ready, rd.Reason = false, "held by a test"
	}
	return rd
}

// IsVoter reports whether this node is a voter in its latest configuration.
func (n *Node) IsVoter() bool {
	return n.suffrage(raft.ServerID(n.nodeID)) == raft.Voter
}

// suffrage is id's role in the latest configuration, or -1 when id is not
// a member.
func (n *Node) suffrage(id raft.ServerID) raft.ServerSuffrage {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return -1
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == id {
			return s.Suffrage
		}
	}
	return -1
}

// addMember has the leader add a joining node as a non-voter, from any
// member.
func (n *Node) addMember(ctx context.Context, id, addr string) error {
	err := n.addMemberHere(ctx, id, addr)
	if !errors.Is(err, errNotLeaderHere) {
		return err
	}
	body, _ := json.Marshal(addVoterRequest{ID: id, Addr: addr})
	_, err = n.callLeader(ctx, rpcAddMember, body, false)
	return err
}

func (n *Node) rpcServeAddMember(w http.ResponseWriter, r *http.Request) {
	var req addVoterRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		rpcFail(w, codeBadRequest, err)
		return
	}
	if err := validNodeID(req.ID); err != nil {
		rpcFail(w, codeBadRequest, err)
		return
	}
	err := n.addMemberHere(r.Context(), req.ID, req.Addr)
	switch {
	case errors.Is(err, errNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
	case err != nil:
		rpcFail(w, codeUnavailable, err)
	}
}

// addMemberHere adds id as a non-voter; a node already in the
// configuration keeps its role (and gets addr if it moved). Only the
// leader can.
func (n *Node) addMemberHere(ctx context.Context, id, addr string) error {
	if n.raft.State() != raft.Leader {
		return errNotLeaderHere
	}
	if err := n.await(ctx, n.addServer(raft.ServerID(id), raft.ServerAddress(addr))); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) { // harmless to repeat
			return errNotLeaderHere
		}
		return err
	}
	n.log.Info("member added as a non-voter; it becomes a voter once it has caught up and serves", "member", id, "addr", addr)
	return nil
}

// addServer adds or re-addresses a server keeping its role: a voter stays
// a voter, anything else (a non-voter, a new node) is a non-voter.
func (n *Node) addServer(id raft.ServerID, addr raft.ServerAddress) raft.IndexFuture {
	if n.suffrage(id) == raft.Voter {
		return n.raft.AddVoter(id, addr, 0, 30*time.Second)
	}
	return n.raft.AddNonvoter(id, addr, 0, 30*time.Second)
}

// promoteLoop runs on every node and acts while it leads: it promotes the
// non-voters that have caught up and serve.
func (n *Node) promoteLoop(ctx context.Context) {
	t := time.NewTicker(promoteEvery)
	defer t.Stop()
	since := map[raft.ServerID]time.Time{} // when a non-voter was first seen not ready
	warned := map[raft.ServerID]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.raft.State() != raft.Leader || n.handingOver.Load() {
			clear(since)
			continue
		}
		f := n.raft.GetConfiguration()
		if f.Error() != nil {
			continue
		}
		for _, s := range f.Configuration().Servers {
			if s.Suffrage != raft.Nonvoter {
				delete(since, s.ID)
				delete(warned, s.ID)
				continue
			}
			why := n.notReadyToVote(ctx, s)
			if why == "" {
				why = n.promote(ctx, s)
			}
			if why == "" {
				delete(since, s.ID)
				continue
			}
			if _, ok := since[s.ID]; !ok {
				since[s.ID] = time.Now()
			}
			if !warned[s.ID] && time.Since(since[s.ID]) > nonvoterWarnAfter {
				warned[s.ID] = true
				n.log.Warn("a member stays a non-voter: it has not caught up or does not serve; it counts toward no quorum. "+
					"If it is gone, remove it with `minitwit cluster remove "+string(s.ID)+"`",
					"member", string(s.ID), "addr", string(s.Address), "reason", why)
			}
		}
	}
}

// notReadyToVote asks non-voter s whether it serves and compares its
// applied index with this leader's commit index; "" means it may vote.
func (n *Node) notReadyToVote(ctx context.Context, s raft.Server) string {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	resp, err := rpcSend(cctx, n.rpc, http.MethodGet, string(s.Address), rpcMemberReady, nil)
	if err != nil {
		return "unreachable: " + err.Error()
	}
	defer resp.Body.Close()
	var rd memberReadiness
	if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil {
		return "unreadable readiness: " + err.Error()
	}
	switch commit := n.raft.CommitIndex(); {
	case !rd.Ready:
		return "not ready: " + rd.Reason
	case rd.Applied+promoteMaxLag < commit:
		return fmt.Sprintf("catching up: applied %d of %d", rd.Applied, commit)
	}
	return ""
}

// promote makes non-voter s a voter; "" on success.
func (n *Node) promote(ctx context.Context, s raft.Server) string {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.await(cctx, n.raft.AddVoter(s.ID, s.Address, 0, 5*time.Second)); err != nil {
		return "promotion failed: " + err.Error()
	}
	n.log.Info("member promoted to voter: it has caught up and serves", "member", string(s.ID), "addr", string(s.Address))
	return ""
}
