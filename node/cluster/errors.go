package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"minitwit/raftfsm"
)

// ErrUnavailable wraps every reason a proposal or read cannot be served
// right now (no leader, shutting down, timed out). It is retryable; callers
// answer 503. A write that failed this way may still have been committed.
// (node.ErrUnavailable is this error.)
var ErrUnavailable = errors.New("node unavailable")

// ErrNotLeaderHere means the request reached a node that is not (or no
// longer) the leader; nothing was done, so it may be sent again.
var ErrNotLeaderHere = errors.New("not the leader")

// ErrOutcomeUnknown means the entry was appended but the leader lost
// leadership before it was committed or applied: it may or may not take
// effect, so the caller retries with the same request ID.
var ErrOutcomeUnknown = fmt.Errorf("%w: the leader changed while the write was in flight", ErrUnavailable)

// A refused or failed cluster RPC answers with an explicit code in a JSON
// body (rpcFailure), which is what callers act on. Each code also has an
// HTTP status of its own, for callers from before the codes: 421 and 409
// kept their meanings, and a format gate refusal, which used to be a 409
// too (so such a caller retried it until its deadline), now has 422.
const (
	// codeNotLeader: nothing was done; find the leader again and retry.
	codeNotLeader = "not_leader"
	// codeOutcomeUnknown: the leader lost leadership with the write in
	// flight; retry it (same request ID) on the next leader.
	codeOutcomeUnknown = "outcome_unknown"
	// codeFormatRefused: the format gate refused the command; retrying
	// cannot help until every member is upgraded.
	codeFormatRefused = "format_refused"
	// codeBadRequest: the request is malformed; retrying cannot help.
	codeBadRequest = "bad_request"
	// codeNotFound: the request names something that does not exist (a
	// member to hand leadership to).
	codeNotFound = "not_found"
	// codeNotMember: the caller's certificate names a node that is not in
	// this node's configuration (boundary.go); retrying cannot help.
	codeNotMember = "not_member"
	// codeUnavailable: anything else (a Raft error, shutting down, still
	// starting).
	codeUnavailable = "unavailable"
)

var rpcCodeStatus = map[string]int{
	codeNotLeader:      http.StatusMisdirectedRequest,
	codeOutcomeUnknown: http.StatusConflict,
	codeFormatRefused:  http.StatusUnprocessableEntity,
	codeBadRequest:     http.StatusBadRequest,
	codeNotFound:       http.StatusNotFound,
	codeNotMember:      http.StatusForbidden,
	codeUnavailable:    http.StatusServiceUnavailable,
}

// rpcFailure is the body of a refused or failed cluster RPC.
type rpcFailure struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// rpcFail answers a cluster RPC with code and err.
func rpcFail(w http.ResponseWriter, code string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rpcCodeStatus[code])
	json.NewEncoder(w).Encode(rpcFailure{Code: code, Error: err.Error()})
}

// failureCode reads the code of a failed answer. An answer without one
// comes from a member older than the codes: its status is read as it was
// meant, and a 409 that carries the format gate's message is a refusal.
func failureCode(status int, body []byte) (code, msg string) {
	var f rpcFailure
	if json.Unmarshal(body, &f) == nil && f.Code != "" {
		return f.Code, f.Error
	}
	msg = strings.TrimSpace(string(body))
	switch {
	case status == http.StatusConflict && strings.HasPrefix(msg, raftfsm.ErrOlderMembers.Error()):
		return codeFormatRefused, msg
	case status == http.StatusMisdirectedRequest:
		return codeNotLeader, msg
	case status == http.StatusConflict:
		return codeOutcomeUnknown, msg
	}
	return "", msg
}

// formatRefusal turns a format gate refusal's message into an error that
// is raftfsm.ErrOlderMembers, worded as the refusing node worded it.
func formatRefusal(msg string) error {
	return fmt.Errorf("%w%s", raftfsm.ErrOlderMembers, strings.TrimPrefix(msg, raftfsm.ErrOlderMembers.Error()))
}

// rpcError is a cluster RPC's answer other than 200 OK: its status, its
// failure code (empty from a member older than the codes) and message.
type rpcError struct {
	status int
	code   string
	msg    string
}

func (e *rpcError) Error() string { return fmt.Sprintf("%d: %s", e.status, e.msg) }

// internodeError is a cluster RPC that got no answer. Its message names
// the member and its internode port, not the request's "http://" URL: the
// RPC travels over mutual TLS, and an operator reading "http://" would look
// for a plain-text port that does not exist.
type internodeError struct {
	addr string
	err  error // the transport's error, without the URL around it
}

func newInternodeError(addr string, err error) *internodeError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &internodeError{addr: addr, err: err}
}

func (e *internodeError) Error() string {
	if isDialError(e.err) {
		return fmt.Sprintf("cannot reach the member at %s (internode port, mTLS): %v", e.addr, e.err)
	}
	return fmt.Sprintf("no answer from the member at %s (internode port, mTLS): %v", e.addr, e.err)
}

func (e *internodeError) Unwrap() error { return e.err }
