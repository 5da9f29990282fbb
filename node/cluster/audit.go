package cluster

import (
	"context"
	"net/http"
	"time"

	"minitwit/ops/httpstatus"
	"minitwit/raftfsm"
)

// The audit trail of operator actions over the internode port. Any member
// (or an operator's tool with a member's certificate) may call every
// route, so what matters is that each operator action leaves a line that
// names the caller: the node id of its certificate, which membersOnly has
// checked against the configuration. Lines go into the replicated trail
// (raftfsm.Audit, store.AuditEntry), so every node's /admin/audit lists
// the same ones, and into this node's log at INFO.
//
//   - Routes marked with an action in the route table (routes.go) are
//     recorded by the member that serves them, once they answered 200, as a
//     record of their own: reads that leak secrets (the join token, a
//     backup) and membership changes and restores an operator asks for.
//   - A forwarded write (/propose) that is an operator command
//     (raftfsm.Describe: admin rights, password resets, admins created,
//     two-factor resets, token rotation, flags) is wrapped by the leader in
//     an Audit record of the forwarding caller, so it is applied in the same
//     log entry as its line, never without it. A member that already wrapped
//     its own (the admin page) has the record's Via set to its certificate's
//     id by the leader: a member cannot make its record name another node
//     as the one that served it.
//
// Raft's own RPCs, the admin page's views of the members (info, samples,
// logs, alerts), the member list (every tool asks it first, to find the
// leader; it holds no secret) and users' ordinary writes are not recorded.
// While a member runs a binary that cannot read the Audit command (format
// 5), records are only logged, and forwarded operator commands are applied
// bare.

// auditTimeout bounds how long recording a line may hold the answer.
const auditTimeout = 10 * time.Second

// auditNote is where a handler names what its action was done to.
type auditNote struct{ target string }

type auditKey struct{}

// setAuditTarget names the target of the audited request r (a member id).
func setAuditTarget(r *http.Request, target string) {
	if n, ok := r.Context().Value(auditKey{}).(*auditNote); ok {
		n.target = target
	}
}

// callerID is the node id of the request's verified certificate.
func callerID(r *http.Request) string {
	if r.TLS == nil {
		return ""
	}
	return certID(peerCert(*r.TLS))
}

// audited records action for every request h answers 200 (nothing is
// recorded for a refusal: it did nothing and revealed nothing). The line
// is written before the answer ends, so a caller that got its answer finds
// the line on every member once they caught up.
func (s *Server) audited(action string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		note := &auditNote{}
		sw := &httpstatus.Writer{ResponseWriter: w}
		h(sw, r.WithContext(context.WithValue(r.Context(), auditKey{}, note)))
		if sw.Status != 0 && sw.Status != http.StatusOK {
			s.log.Info("operator action refused", "caller", callerID(r), "action", action, "target", note.target, "status", sw.Status)
			return
		}
		s.Record(r.Context(), raftfsm.Audit{Node: callerID(r), Via: s.host.ID(), Action: action, Target: note.target})
	}
}

// Record logs an operator action at INFO and adds it to the replicated
// trail, stamped with this node's clock; a failure to replicate it is a
// WARN (the action happened: it is in this node's log either way).
func (s *Server) Record(ctx context.Context, a raftfsm.Audit) {
	a.Time = time.Now().UnixNano()
	s.log.Info("operator action", "caller", a.Node, "user", a.User, "via", a.Via, "action", a.Action, "target", a.Target)
	if member, _, _ := s.membership(s.host.ID()); !member {
		// This node removed itself (`cluster remove` of the leader): its
		// proposals are refused now; the line is in its log.
		s.log.Warn("operator action not added to the audit trail: this node left the cluster", "caller", a.Node, "action", a.Action)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	res, err := s.host.Propose(ctx, &a)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		s.log.Warn("operator action not added to the audit trail", "caller", a.Node, "action", a.Action, "err", err.Error())
	}
}

// auditForwarded is the leader's part for a forwarded write (servePropose):
// it returns the Tagged's encoding to propose, with an operator command
// wrapped in an Audit record of caller, or a member's own Audit record
// stamped as served by caller.
func (s *Server) auditForwarded(ctx context.Context, caller string, tagged *raftfsm.Tagged, data []byte) []byte {
	inner, err := raftfsm.Decode(tagged.Cmd)
	if err != nil {
		return data // refused as it is when applied
	}
	var a *raftfsm.Audit
	switch c := inner.(type) {
	case *raftfsm.Audit:
		a = c
		a.Via = caller
	default:
		if !raftfsm.OperatorCommand(inner) {
			return data
		}
		a = raftfsm.Wrap(inner, raftfsm.Audit{Time: time.Now().UnixNano(), Node: caller, Via: s.host.ID()})
		if err := s.CheckClusterReads(ctx, raftfsm.FormatOf(a)); err != nil {
			s.log.Info("operator action (not in the audit trail: a member runs an older binary)", "caller", caller, "action", a.Action, "target", a.Target)
			return data
		}
	}
	s.log.Info("operator action", "caller", a.Node, "user", a.User, "via", a.Via, "action", a.Action, "target", a.Target)
	return raftfsm.Encode(&raftfsm.Tagged{ID: tagged.ID, Cmd: raftfsm.Encode(a)})
}
