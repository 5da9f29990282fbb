package raftfsm

import (
	"errors"
	"fmt"
	"strconv"

	"minitwit/store"
)

// Audit records an operator action in the replicated audit trail
// (store.AuditEntry), and, when Cmd is set, applies that command in the
// same transaction: an operator's change is never applied without its
// audit line, and the line says whether the change was refused. Without
// Cmd it only records (a read that changes nothing: the join token, a
// backup). Everything in it is filled in by the proposer; the state
// machine adds the outcome and the trail's bound (store.AuditKeep).
//
// It never carries a secret: Action and Target name what was done to
// what ("reset password", "alice"), and Cmd's own secrets (a password
// hash, a join token) stay in Cmd, which the trail does not keep.
type Audit struct {
	// Time is the proposer's clock, Unix nanoseconds.
	Time int64
	// Node is the caller's node id: the id in the certificate of the
	// internode client (a member, or an operator's tool on a member's
	// machine), or the node whose web page or admin API served User.
	Node string
	// User is the admin's name when the action came from the admin page,
	// "" over the internode port.
	User string
	// Via is the member that served the request and proposed the record;
	// a leader stamps it with the certificate id of the member that
	// forwarded the record (node/cluster/audit.go).
	Via            string
	Action, Target string
	// Cmd is the encoded command the action runs, if any: never a Batch,
	// a Tagged or another Audit.
	Cmd []byte
}

func (Audit) Kind() Kind { return KindAudit }

func (c *Audit) encode(e *encoder) {
	e.varint(c.Time)
	e.str(c.Node)
	e.str(c.User)
	e.str(c.Via)
	e.str(c.Action)
	e.str(c.Target)
	e.bytes(c.Cmd)
}

func (c *Audit) decode(d *decoder) {
	c.Time, c.Node, c.User, c.Via, c.Action, c.Target, c.Cmd = d.varint(), d.str(), d.str(), d.str(), d.str(), d.str(), d.bytes()
}

// Wrap returns cmd inside an Audit record whose Action and Target say
// what cmd does (Describe).
func Wrap(cmd Command, a Audit) *Audit {
	a.Action, a.Target = Describe(cmd)
	a.Cmd = Encode(cmd)
	return &a
}

// Describe names what an operator command does and to what, without its
// secrets; "" for commands that are not operator actions (a user's own
// writes, the node's housekeeping). A forwarded command it names is
// recorded by the leader that receives it (node/cluster/audit.go).
func Describe(cmd Command) (action, target string) {
	switch c := cmd.(type) {
	case *SetAdmin:
		if c.Admin {
			return "grant admin", c.User
		}
		return "revoke admin", c.User
	case *SetPassword:
		if c.Old != "" {
			return "", "" // a user changing their own password
		}
		if c.Temporary {
			return "reset password (one-time)", c.User
		}
		return "reset password", c.User
	case *CreateAdmin:
		if c.FirstOnly {
			return "", "" // the node's first start
		}
		return "create admin", c.Username
	case *TOTPReset:
		return "reset two-factor sign-in", c.User
	case *RotateJoinToken:
		return "rotate join token", ""
	case *RotateCA:
		switch c.Step {
		case CAStepStage:
			return "rotate cluster CA: stage", ""
		case CAStepSwitch:
			return "rotate cluster CA: switch", ""
		}
		return "rotate cluster CA: retire", ""
	case *FlagMessage:
		if c.Flagged {
			return "flag message", strconv.FormatUint(c.MessageID, 10)
		}
		return "unflag message", strconv.FormatUint(c.MessageID, 10)
	case *EndSessions:
		// A user's sign-out proposes it too: only the admin page's
		// revoke, which wraps it itself, is an operator action.
		return "", ""
	}
	return "", ""
}

// OperatorKind reports whether a command of kind k may be an operator
// action (Describe may name it) or is an Audit record: a leader looks
// closer at forwarded writes of these kinds only.
func OperatorKind(k Kind) bool {
	switch k {
	case KindSetAdmin, KindSetPassword, KindCreateAdmin, KindTOTPReset, KindRotateToken, KindRotateCA, KindFlagMessage, KindAudit:
		return true
	}
	return false
}

// OperatorCommand reports whether cmd is an operator action that a leader
// records when a member forwards it bare (Describe names it).
func OperatorCommand(cmd Command) bool {
	a, _ := Describe(cmd)
	return a != ""
}

// applyAudit runs an Audit: its command, if any, then the record with the
// command's outcome (a refusal's wire code, so every replica stores the
// same bytes whatever its binary's wording).
func applyAudit(w *store.WriteTx, index uint64, c *Audit) Result {
	var res Result
	if len(c.Cmd) > 0 {
		inner, err := Decode(c.Cmd)
		switch inner.(type) {
		case *Batch, *Tagged, *Audit:
			inner, err = nil, fmt.Errorf("%w: a batch, tagged or audit command inside an audit record", ErrMalformed)
		}
		if err != nil {
			// A newer format inside stops the node like a newer entry
			// (applyDecoded); anything else is refused, nothing recorded.
			return Result{Err: err}
		}
		res = ExecuteAt(w, index, inner)
		if res.Err != nil && !IsRefusal(res.Err) {
			return res
		}
	}
	outcome := "ok"
	if res.Err != nil {
		outcome = "refused: " + refusalCode(res.Err)
	}
	err := w.AppendAudit(store.AuditEntry{Time: c.Time, Node: c.Node, User: c.User, Via: c.Via,
		Action: c.Action, Target: c.Target, Outcome: outcome})
	if err != nil {
		return Result{Err: err}
	}
	return res
}

// refusalCode is a refusal's stable wire code (result.go).
func refusalCode(err error) string {
	for _, c := range refusalCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "unknown"
}
