package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"minitwit/raftfsm"
)

// The format gate. A log entry in a command format that some member's
// binary does not read stops that member for good (it cannot skip an
// entry), so in the middle of a rolling upgrade an upgraded node must not
// propose a command of a new format: not through a follower forwarding to
// an old leader, not through the CLI, not on its own (the first admin).
// Before proposing a command newer than raftfsm.ReleasedFormat the node
// asks every member which format it reads (GET /info over the cluster RPC;
// a binary without /info is older than the check itself) and refuses with
// raftfsm.ErrOlderMembers until all read it. A confirmed membership is
// remembered, so the question is asked once per configuration.

// formatAskTimeout bounds one member's answer.
const formatAskTimeout = 2 * time.Second

// formatGate remembers the membership confirmed to read each format.
type formatGate struct {
	mu        sync.Mutex
	confirmed map[byte]string // format -> member fingerprint
}

// CheckClusterReads returns nil when every member reads format, or when
// format is one every release reads.
func (s *Server) CheckClusterReads(ctx context.Context, format byte) error {
	if format <= raftfsm.ReleasedFormat {
		return nil
	}
	members := s.Members()
	fingerprint := s.memberFingerprint()
	s.formats.mu.Lock()
	ok := s.formats.confirmed[format] == fingerprint
	s.formats.mu.Unlock()
	if ok {
		return nil
	}
	for _, m := range members {
		if m.ID == s.host.ID() {
			continue
		}
		reads, err := s.memberFormat(ctx, m.Address)
		if err != nil {
			return fmt.Errorf("%w (cannot tell which format %s reads: %v)", raftfsm.ErrOlderMembers, m.ID, err)
		}
		if reads < int(format) {
			return fmt.Errorf("%w (%s reads commands up to format %d, this change needs %d)", raftfsm.ErrOlderMembers, m.ID, reads, format)
		}
	}
	s.confirmFormat(format, fingerprint)
	return nil
}

func (s *Server) confirmFormat(format byte, fingerprint string) {
	s.formats.mu.Lock()
	defer s.formats.mu.Unlock()
	if s.formats.confirmed == nil {
		s.formats.confirmed = map[byte]string{}
	}
	s.formats.confirmed[format] = fingerprint
}

// ConfirmFormatForTest makes the format gate remember the current
// membership as reading format, as if it had asked every member: a stale
// confirmation, such as a member's downgrade leaves behind. Tests only.
func (s *Server) ConfirmFormatForTest(format byte) {
	s.confirmFormat(format, s.memberFingerprint())
}

// memberFingerprint names the current membership (ids and addresses).
func (s *Server) memberFingerprint() string {
	members := s.Members()
	ids := make([]string, 0, len(members))
	for _, m := range members {
		ids = append(ids, m.ID+"@"+m.Address)
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// memberFormat asks a member which command format it reads. A member
// without /info runs a binary from before this gate: it reads at most the
// released format.
func (s *Server) memberFormat(ctx context.Context, addr string) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, formatAskTimeout)
	defer cancel()
	info, err := s.client.Info(cctx, addr)
	var re *rpcError
	switch {
	case errors.As(err, &re) && re.status == http.StatusNotFound:
		return raftfsm.ReleasedFormat, nil
	case err != nil:
		return 0, err
	case info.Format == 0:
		return raftfsm.ReleasedFormat, nil
	}
	return info.Format, nil
}

// serveClusterFormat answers whether the whole cluster reads the format
// in ?format=, for tools that propose through a member (Client.Proposer).
func (s *Server) serveClusterFormat(w http.ResponseWriter, r *http.Request) {
	f, err := strconv.Atoi(r.URL.Query().Get("format"))
	if err != nil || f < 1 || f > 255 {
		rpcFail(w, codeBadRequest, errors.New("format: a number from 1 to 255"))
		return
	}
	if f > raftfsm.FormatVersion {
		rpcFail(w, codeFormatRefused, fmt.Errorf("%w (this node reads up to format %d)", raftfsm.ErrOlderMembers, raftfsm.FormatVersion))
		return
	}
	if err := s.CheckClusterReads(r.Context(), byte(f)); err != nil {
		rpcFail(w, codeFormatRefused, err)
		return
	}
	w.Write([]byte("ok"))
}
