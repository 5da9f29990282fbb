package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/node/nodeinfo"
	"minitwit/store"
)

// Cluster administration over the internode port: `minitwit cluster ...`
// authenticates with the certificate of a node whose data dir it can read
// (owner-only files), so whoever administers a node's files administers the
// cluster, and nobody else can.
const (
	rpcMembers  = "/members"
	rpcTransfer = "/transfer"
	rpcToken    = "/token"
)

// Member is one server in the cluster's configuration.
type Member struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
}

// MembersReport is a node's view of the cluster.
type MembersReport struct {
	Self    nodeinfo.Status `json:"self"`
	Ready   bool            `json:"ready"` // Self.Ready (not in /readyz's body)
	Members []Member        `json:"members"`
	// RaftTiming is this node's Raft timeouts (config.RaftTiming.String),
	// which every member should share; empty from a binary that predates it.
	RaftTiming string `json:"raft_timing,omitempty"`
}

func (n *Node) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+rpcMembers, func(w http.ResponseWriter, r *http.Request) {
		st := n.Status()
		rep := MembersReport{Self: st, Ready: st.Ready, Members: n.memberList(), RaftTiming: n.cfg.Raft.Timing().String()}
		json.NewEncoder(w).Encode(rep)
	})
	mux.HandleFunc("POST "+rpcTransfer, n.rpcServeTransfer)
	mux.HandleFunc("GET "+rpcBackup, n.rpcServeBackup)
	mux.HandleFunc("POST "+rpcRestore, n.rpcServeRestore)
	mux.HandleFunc("GET "+rpcFlagged, n.rpcServeFlagged)
	mux.HandleFunc("GET "+rpcToken, func(w http.ResponseWriter, r *http.Request) {
		var sec store.ClusterSecrets
		if err := n.store.View(func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil }); err != nil {
			http.Error(w, "reading the join token: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if len(sec.JoinToken) == 0 {
			http.Error(w, "the cluster has no join token yet", http.StatusServiceUnavailable)
			return
		}
		w.Write(sec.JoinToken)
	})
}

func (n *Node) memberList() []Member {
	var out []Member
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return out
	}
	for _, s := range f.Configuration().Servers {
		out = append(out, Member{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// rpcServeTransfer hands leadership to the member named in the body, or to
// the most up-to-date one when none is named. Only the leader can.
func (n *Node) rpcServeTransfer(w http.ResponseWriter, r *http.Request) {
	var req addVoterRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, "bad transfer request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if n.raft.State() != raft.Leader {
		rpcFail(w, codeNotLeader, errNotLeaderHere)
		return
	}
	addr := ""
	if req.ID != "" {
		var ok bool
		if addr, ok = n.Members()[req.ID]; !ok {
			http.Error(w, fmt.Sprintf("no member %q", req.ID), http.StatusNotFound)
			return
		}
	}
	// hashicorp/raft gives a transfer one election timeout (50 ms here) to
	// bring the target up to date; a busy machine can miss that, so a
	// transfer that timed out is tried again while this node still leads.
	var err error
	for deadline := time.Now().Add(3 * time.Second); ; {
		var f raft.Future
		if req.ID == "" {
			f = n.raft.LeadershipTransfer()
		} else {
			f = n.raft.LeadershipTransferToServer(raft.ServerID(req.ID), raft.ServerAddress(addr))
		}
		err = n.await(r.Context(), f)
		retriable := err != nil && (strings.Contains(err.Error(), "timeout") || errors.Is(err, raft.ErrLeadershipTransferInProgress))
		if !retriable || n.raft.State() != raft.Leader || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	// The old leader learns the new one from its first heartbeat.
	var leader raft.ServerID
	for deadline := time.Now().Add(2 * time.Second); leader == "" && time.Now().Before(deadline); {
		if _, leader = n.raft.LeaderWithID(); leader == "" {
			time.Sleep(5 * time.Millisecond)
		}
	}
	n.log.Info("leadership transferred on request", "to", string(leader))
	w.Write([]byte(leader))
}

// ClusterClient administers a cluster with the identity of a local node.
type ClusterClient struct {
	http *http.Client
}

// NewClusterClient loads the node certificate from dataDir.
func NewClusterClient(dataDir string) (*ClusterClient, error) {
	t, err := loadNodeTLS(dataDir)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("no node certificate in %s (has a node run there?)", dataDir)
	}
	return &ClusterClient{http: newRPCClient(t)}, nil
}

func (c *ClusterClient) do(ctx context.Context, method, addr, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	resp, err := rpcSend(ctx, c.http, method, addr, path, rd)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxRPCBody))
}

// rpcError is a cluster RPC's answer other than 200 OK: its status, its
// failure code (rpc.go; empty from an endpoint without codes) and message.
type rpcError struct {
	status int
	code   string
	msg    string
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d: %s", e.status, e.msg) }

// Members asks the node at addr for its view of the cluster.
func (c *ClusterClient) Members(ctx context.Context, addr string) (MembersReport, error) {
	var rep MembersReport
	data, err := c.do(ctx, http.MethodGet, addr, rpcMembers, nil)
	if err == nil {
		err = json.Unmarshal(data, &rep)
	}
	return rep, err
}

// Leader finds the leader's address through the node at addr.
func (c *ClusterClient) Leader(ctx context.Context, addr string) (string, error) {
	for {
		rep, err := c.Members(ctx, addr)
		if err != nil {
			return "", err
		}
		for _, m := range rep.Members {
			if m.ID == rep.Self.Leader {
				return m.Address, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", errors.New("the cluster has no leader")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Remove takes a member out of the cluster.
func (c *ClusterClient) Remove(ctx context.Context, addr, id string) error {
	leader, err := c.Leader(ctx, addr)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodPost, leader, rpcRemove, addVoterRequest{ID: id})
	return err
}

// Transfer hands leadership to member to (or to the best candidate when
// to is empty) and returns the new leader's id.
func (c *ClusterClient) Transfer(ctx context.Context, addr, to string) (string, error) {
	leader, err := c.Leader(ctx, addr)
	if err != nil {
		return "", err
	}
	data, err := c.do(ctx, http.MethodPost, leader, rpcTransfer, addVoterRequest{ID: to})
	return string(data), err
}

// Token returns the cluster's join token.
func (c *ClusterClient) Token(ctx context.Context, addr string) (string, error) {
	data, err := c.do(ctx, http.MethodGet, addr, rpcToken, nil)
	return string(data), err
}
