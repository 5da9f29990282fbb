package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"minitwit/raftfsm"
	"minitwit/store"
)

// The format gate. A log entry in a command format that some member's
// binary does not read stops that member for good (it cannot skip an
// entry), so in the middle of a rolling upgrade an upgraded node must not
// propose a command of a new format: not through a follower forwarding to
// an old leader, not through the CLI, not on its own (the first admin).
// Before proposing a command newer than raftfsm.ReleasedFormat the node
// asks every member which format it reads (GET /info over the cluster RPC;
// a binary without /info is older than the check itself) and refuses with
// raftfsm.ErrOlderMembers until all read it. A member's yes is
// remembered per format (by id and address), so it is asked once.
//
// A member that cannot be asked (down, cut off) refuses nothing when this
// node's replica shows that the log already holds a command of the format
// (store's format floor, raised by the state machine): such a member has
// to read that format to go on anyway, so one more entry of it stops no
// one new. Without that rule, every command of a newer format, a user's
// sign-out (EndSessions) and an admin's second factor among them, failed
// while any member was down, and a sign-out cleared the browser's cookie
// but left the session valid on every node (attack review 2026-12-04).
// Such a member is asked again after formatRetryUnreachable, not on every
// command, so that each sign-out does not wait for its timeout.

// formatAskTimeout bounds one member's answer.
const formatAskTimeout = 2 * time.Second

// formatRetryUnreachable is how long a member that could not be asked is
// let pass on the format floor before it is asked again.
const formatRetryUnreachable = 30 * time.Second

// formatGate remembers what each member said it reads.
type formatGate struct {
	mu sync.Mutex
	// confirmed holds "format id@address" for each member that said it
	// reads that format.
	confirmed map[string]bool
	// unreachable is when a member (id@address) last could not be asked.
	unreachable map[string]time.Time
}

// CheckClusterReads returns nil when every member reads format, or when
// format is one every release reads.
func (s *Server) CheckClusterReads(ctx context.Context, format byte) error {
	if format <= raftfsm.ReleasedFormat {
		return nil
	}
	var floor byte
	if st := s.host.LocalStore(); st != nil {
		// A failed read leaves floor at zero: every member is then asked.
		_ = st.View(func(tx *store.ReadTx) error { floor = tx.FormatFloor(); return nil })
	}
	for _, m := range s.Members() {
		if m.ID == s.host.ID() {
			continue
		}
		key := m.ID + "@" + m.Address
		if s.formats.passes(key, format, floor >= format) {
			continue
		}
		reads, err := s.memberFormat(ctx, m.Address)
		if err != nil {
			if floor >= format {
				s.formats.markUnreachable(key)
				continue
			}
			return fmt.Errorf("%w (cannot tell which format %s reads: %v)", raftfsm.ErrOlderMembers, m.ID, err)
		}
		s.formats.answered(key, format, reads)
		if reads < int(format) {
			return fmt.Errorf("%w (%s reads commands up to format %d, this change needs %d)", raftfsm.ErrOlderMembers, m.ID, reads, format)
		}
	}
	return nil
}

// passes reports whether member key may pass unasked: it said it reads
// format, or it was unreachable a moment ago and onFloor (the log already
// holds the format).
func (g *formatGate) passes(key string, format byte, onFloor bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	at, down := g.unreachable[key]
	return g.confirmed[confirmKey(key, format)] || onFloor && down && time.Since(at) < formatRetryUnreachable
}

func confirmKey(member string, format byte) string { return strconv.Itoa(int(format)) + " " + member }

// answered records what member key said it reads.
func (g *formatGate) answered(key string, format byte, reads int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.confirmed == nil {
		g.confirmed = map[string]bool{}
	}
	g.confirmed[confirmKey(key, format)] = reads >= int(format)
	delete(g.unreachable, key)
}

func (g *formatGate) markUnreachable(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unreachable == nil {
		g.unreachable = map[string]time.Time{}
	}
	g.unreachable[key] = time.Now()
}

// ConfirmFormatForTest makes the format gate remember the current
// membership as reading format, as if it had asked every member: a stale
// confirmation, such as a member's downgrade leaves behind. Tests only.
func (s *Server) ConfirmFormatForTest(format byte) {
	for _, m := range s.Members() {
		s.formats.answered(m.ID+"@"+m.Address, format, int(format))
	}
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
