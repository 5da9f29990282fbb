package httpui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"minitwit/raftfsm"
	"minitwit/store"
)

// The audit trail on the admin page (GET /admin/audit): every operator
// action, newest first, as every node holds it (store.AuditEntry,
// replicated). The admin page's own actions go in too, with the admin's
// name and the node that served the page: its changes (flags, admin
// rights, sign-outs) ride in the same Raft entry as their line
// (raftfsm.Audit), and its reads of secrets (the join token revealed, a
// backup downloaded) and the admin API's backups and imports are
// recorded once done. Actions over the internode port are recorded by
// the cluster RPC (node/cluster/audit.go).

const auditPageSize = 100

// auditRow is one line of the trail, as the page shows it.
type auditRow struct {
	store.AuditEntry
	At time.Time
}

// auditStamp is an Audit record of user's action on this node.
func (s *Server) auditStamp(user string) raftfsm.Audit {
	self := ""
	if s.opts.Admin != nil {
		self, _ = s.opts.Admin.MemberIDs()
	}
	return raftfsm.Audit{Time: time.Now().UnixNano(), Node: self, User: user, Via: self}
}

// proposeAudited runs an admin's change in the same entry as its audit
// line (action and target, or cmd's own description when action is "").
// A cluster with a member that cannot read the record yet gets the change
// alone: the change matters more than its line, which the log keeps.
func (s *Server) proposeAudited(ctx context.Context, user string, cmd raftfsm.Command, action, target string) error {
	a := raftfsm.Wrap(cmd, s.auditStamp(user))
	if action != "" {
		a.Action, a.Target = action, target
	}
	s.log.Info("operator action", "user", user, "node", a.Node, "action", a.Action, "target", a.Target)
	err := s.propose(ctx, a)
	if errors.Is(err, raftfsm.ErrOlderMembers) {
		return s.propose(ctx, cmd)
	}
	return err
}

// record adds an admin's read (or an admin API call) to the trail once it
// is done; a failure to record is logged, the action happened.
func (s *Server) record(ctx context.Context, user, action, target string) {
	a := s.auditStamp(user)
	a.Action, a.Target = action, target
	s.log.Info("operator action", "user", user, "node", a.Node, "action", action, "target", target)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.propose(ctx, &a); err != nil {
		s.log.Warn("operator action not added to the audit trail", "user", user, "action", action, "err", err.Error())
	}
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request, d *adminData) {
	st, err := s.opts.Reader.ReadStore(r.Context())
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	var entries []store.AuditEntry
	err = st.View(func(tx *store.ReadTx) error { entries = tx.Audit(before(r), auditPageSize+1); return nil })
	if err != nil {
		s.unavailable(w, r, err)
		return
	}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		d.OlderURL = "/admin/audit?" + url.Values{"before": {strconv.FormatUint(entries[len(entries)-1].Seq, 10)}}.Encode()
	}
	for _, e := range entries {
		d.Audit = append(d.Audit, auditRow{AuditEntry: e, At: time.Unix(0, e.Time)})
	}
	d.AuditKeep = store.AuditKeep
	s.renderAdmin(w, r, "audit", d)
}
