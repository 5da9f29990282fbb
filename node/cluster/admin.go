package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"minitwit/node/nodeinfo"
	"minitwit/ops/backup"
	"minitwit/store"
)

// Cluster administration over the internode port: `minitwit cluster ...`,
// `backup`, `restore --cluster` and `flag` authenticate with the
// certificate of a node whose data dir they can read (owner-only files),
// so whoever administers a node's files administers the cluster, and
// nobody else can. The admin page's view of every member goes the same
// way, from one member to the others.

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
	// CA is this node's view of the cluster CA (carotate.go); nil from a
	// binary that predates CA rotation.
	CA *CAState `json:"ca,omitempty"`
}

// FlaggedMessage is one flagged message as `minitwit flag --list` shows it.
type FlaggedMessage struct {
	ID      uint64 `json:"id"`
	Author  string `json:"author"`
	Text    string `json:"text"`
	PubDate int64  `json:"pub_date"`
}

// maxFlaggedList bounds one listing.
const maxFlaggedList = 10_000

// Members lists the servers of the latest configuration, by id.
func (s *Server) Members() []Member {
	var out []Member
	f := s.raft().GetConfiguration()
	if f.Error() != nil {
		return out
	}
	for _, m := range f.Configuration().Servers {
		out = append(out, Member{ID: string(m.ID), Address: string(m.Address), Voter: m.Suffrage == raft.Voter})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) serveMembers(w http.ResponseWriter, r *http.Request) {
	st := s.host.Status()
	rep := MembersReport{Self: st, Ready: st.Ready, Members: s.Members(), RaftTiming: s.cfg.RaftTiming}
	if ca, err := s.CAState(); err == nil {
		rep.CA = &ca
	}
	json.NewEncoder(w).Encode(rep)
}

// serveTransfer hands leadership to the member named in the body, or to
// the most up-to-date one when none is named. Only the leader can.
func (s *Server) serveTransfer(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeMember(w, r, true)
	if !ok {
		return
	}
	setAuditTarget(r, req.ID)
	if s.raft().State() != raft.Leader {
		rpcFail(w, codeNotLeader, ErrNotLeaderHere)
		return
	}
	addr := ""
	if req.ID != "" {
		for _, m := range s.Members() {
			if m.ID == req.ID {
				addr = m.Address
			}
		}
		if addr == "" {
			rpcFail(w, codeNotFound, fmt.Errorf("no member %q", req.ID))
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
			f = s.raft().LeadershipTransfer()
		} else {
			f = s.raft().LeadershipTransferToServer(raft.ServerID(req.ID), raft.ServerAddress(addr))
		}
		err = s.host.Await(r.Context(), f)
		retriable := err != nil && (strings.Contains(err.Error(), "timeout") || errors.Is(err, raft.ErrLeadershipTransferInProgress))
		if !retriable || s.raft().State() != raft.Leader || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		rpcFail(w, codeUnavailable, err)
		return
	}
	// The old leader learns the new one from its first heartbeat.
	var leader raft.ServerID
	for deadline := time.Now().Add(2 * time.Second); leader == "" && time.Now().Before(deadline); {
		if _, leader = s.raft().LeaderWithID(); leader == "" {
			time.Sleep(5 * time.Millisecond)
		}
	}
	s.log.Info("leadership transferred on request", "to", string(leader))
	w.Write([]byte(leader))
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	var sec store.ClusterSecrets
	if err := s.host.LocalStore().View(func(tx *store.ReadTx) error { sec = tx.Secrets(); return nil }); err != nil {
		rpcFail(w, codeUnavailable, fmt.Errorf("reading the join token: %w", err))
		return
	}
	if len(sec.JoinToken) == 0 {
		rpcFail(w, codeUnavailable, errors.New("the cluster has no join token yet"))
		return
	}
	w.Write(sec.JoinToken)
}

// serveBackup streams a backup to a member or to `minitwit backup`.
func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request) {
	// Catch up first, so that an error is still an RPC error.
	if _, err := s.host.ReadStore(r.Context()); err != nil {
		rpcFail(w, codeUnavailable, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := s.host.WriteBackup(r.Context(), w); err != nil {
		s.log.Warn("backup over the cluster port failed", "err", err.Error())
	}
}

func (s *Server) serveRestore(w http.ResponseWriter, r *http.Request) {
	_, err := s.host.RestoreCluster(r.Context(), r.Body)
	switch {
	case errors.Is(err, ErrNotLeaderHere):
		rpcFail(w, codeNotLeader, err)
	case errors.Is(err, ErrOutcomeUnknown):
		rpcFail(w, codeOutcomeUnknown, err)
	case errors.Is(err, backup.ErrCorrupt) || errors.Is(err, backup.ErrNewerFormat) || errors.Is(err, backup.ErrEncrypted):
		rpcFail(w, codeBadRequest, err)
	case err != nil:
		rpcFail(w, codeUnavailable, err)
	}
}

func (s *Server) serveFlagged(w http.ResponseWriter, r *http.Request) {
	st, err := s.host.ReadStore(r.Context())
	if err != nil {
		rpcFail(w, codeUnavailable, err)
		return
	}
	limit := maxFlaggedList
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 && v < limit {
		limit = v
	}
	var out []FlaggedMessage
	err = st.View(func(tx *store.ReadTx) error {
		msgs, err := tx.FlaggedMessages(limit)
		for _, m := range msgs {
			out = append(out, FlaggedMessage{ID: m.ID, Author: m.Author, Text: m.Text, PubDate: m.PubDate})
		}
		return err
	})
	if err != nil {
		rpcFail(w, codeUnavailable, err)
		return
	}
	json.NewEncoder(w).Encode(out)
}

// serveUsernames answers which stored names an operator's ?name= can mean
// (`minitwit admin` resolves the name it was given before it proposes).
func (s *Server) serveUsernames(w http.ResponseWriter, r *http.Request) {
	st, err := s.host.ReadStore(r.Context())
	if err != nil {
		rpcFail(w, codeUnavailable, err)
		return
	}
	var out []string
	err = st.View(func(tx *store.ReadTx) error { out = tx.UsernameMatches(r.URL.Query().Get("name")); return nil })
	if err != nil {
		rpcFail(w, codeUnavailable, err)
		return
	}
	json.NewEncoder(w).Encode(out)
}

// The cluster RPC answers while the node is still starting; /info and
// /samples read what Start sets up last, so they wait for it.
func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request) {
	if !s.host.Up() {
		rpcFail(w, codeUnavailable, errors.New("starting"))
		return
	}
	json.NewEncoder(w).Encode(s.host.Info())
}

func (s *Server) serveSamples(w http.ResponseWriter, r *http.Request) {
	if !s.host.Up() {
		rpcFail(w, codeUnavailable, errors.New("starting"))
		return
	}
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	json.NewEncoder(w).Encode(s.host.LocalSamples(time.Unix(0, since)))
}

func (s *Server) serveLogsRecent(w http.ResponseWriter, r *http.Request) {
	max, _ := strconv.Atoi(r.URL.Query().Get("max"))
	json.NewEncoder(w).Encode(s.host.LogRing().Lines(max))
}

func (s *Server) serveLogFile(w http.ResponseWriter, r *http.Request) {
	started := false
	err := s.host.WriteLogFile(w, func(name string) { started = true; w.Header().Set("Minitwit-Filename", name) })
	if err != nil && !started {
		rpcFail(w, codeUnavailable, err)
	}
}

// TailBuffer is how many lines a slow viewer may fall behind before lines
// are dropped for it (the ring counts them); logging never waits.
const TailBuffer = 1024

// tailKeepAlive is how often an idle internode tail sends an empty line,
// so a dead viewer is noticed and its subscription released.
const tailKeepAlive = 15 * time.Second

// serveLogTail streams this node's new log lines, one per line.
func (s *Server) serveLogTail(w http.ResponseWriter, r *http.Request) {
	lines, cancel := s.host.LogRing().Subscribe(TailBuffer)
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	bw := bufio.NewWriter(w)
	keepAlive := time.NewTicker(tailKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.host.Closing():
			return
		case <-keepAlive.C:
			bw.WriteByte('\n')
		case l, ok := <-lines:
			if !ok {
				return
			}
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
	}
}
