package node

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

	"minitwit/node/nodeinfo"
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

const (
	rpcClusterFormat = "/cluster-format"
	// formatAskTimeout bounds one member's answer.
	formatAskTimeout = 2 * time.Second
)

// formatGate remembers the membership confirmed to read each format.
type formatGate struct {
	mu        sync.Mutex
	confirmed map[byte]string // format -> member fingerprint
}

// checkClusterReads returns nil when every member reads format, or when
// format is one every release reads.
func (n *Node) checkClusterReads(ctx context.Context, format byte) error {
	if format <= raftfsm.ReleasedFormat {
		return nil
	}
	members := n.memberList()
	fingerprint := n.memberFingerprint()
	n.formats.mu.Lock()
	ok := n.formats.confirmed[format] == fingerprint
	n.formats.mu.Unlock()
	if ok {
		return nil
	}
	for _, m := range members {
		if m.ID == n.nodeID {
			continue
		}
		reads, err := n.memberFormat(ctx, m.Address)
		if err != nil {
			return fmt.Errorf("%w (cannot tell which format %s reads: %v)", raftfsm.ErrOlderMembers, m.ID, err)
		}
		if reads < int(format) {
			return fmt.Errorf("%w (%s reads commands up to format %d, this change needs %d)", raftfsm.ErrOlderMembers, m.ID, reads, format)
		}
	}
	n.formats.mu.Lock()
	if n.formats.confirmed == nil {
		n.formats.confirmed = map[byte]string{}
	}
	n.formats.confirmed[format] = fingerprint
	n.formats.mu.Unlock()
	return nil
}

// memberFingerprint names the current membership (ids and addresses).
func (n *Node) memberFingerprint() string {
	members := n.memberList()
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
func (n *Node) memberFormat(ctx context.Context, addr string) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, formatAskTimeout)
	defer cancel()
	var info nodeinfo.Info
	err := n.getJSON(cctx, addr, rpcInfo, &info)
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

// rpcServeClusterFormat answers whether the whole cluster reads the format
// in ?format=, for tools that propose through a member (ClusterClient).
func (n *Node) rpcServeClusterFormat(w http.ResponseWriter, r *http.Request) {
	f, err := strconv.Atoi(r.URL.Query().Get("format"))
	if err != nil || f < 1 || f > 255 {
		rpcFail(w, codeBadRequest, errors.New("format: a number from 1 to 255"))
		return
	}
	if f > raftfsm.FormatVersion {
		rpcFail(w, codeFormatRefused, fmt.Errorf("%w (this node reads up to format %d)", raftfsm.ErrOlderMembers, raftfsm.FormatVersion))
		return
	}
	if err := n.checkClusterReads(r.Context(), byte(f)); err != nil {
		rpcFail(w, codeFormatRefused, err)
		return
	}
	w.Write([]byte("ok"))
}
