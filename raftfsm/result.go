package raftfsm

import (
	"encoding/json"
	"errors"
	"fmt"

	"minitwit/store"
)

// Results cross the cluster RPC when a follower forwards a proposal to the
// leader. A refusal travels as a code and its message and arrives as an
// error that still matches the store's sentinel with errors.Is, so handlers
// on every node map it to the same status. This list is also what IsRefusal
// counts as a refusal; codes are never reused.
var refusalCodes = []struct {
	code string
	err  error
}{
	{"unknown_user", store.ErrUnknownUser},
	{"name_taken", store.ErrNameTaken},
	{"follow_self", store.ErrFollowSelf},
	{"unknown_message", store.ErrUnknownMessage},
	{"invalid", store.ErrInvalid},
	{"malformed", ErrMalformed},
	{"locked", store.ErrLocked},
	{"cert_not_found", store.ErrCertNotFound},
	{"last_admin", store.ErrLastAdmin},
	{"admin_exists", store.ErrAdminExists},
	{"password_changed", store.ErrPasswordChanged},
	{"code_used", store.ErrCodeUsed},
	{"no_totp", store.ErrNoTOTP},
}

type wireResult struct {
	ID   uint64 `json:"id,omitempty"`
	Code string `json:"code,omitempty"`
	Msg  string `json:"msg,omitempty"`
}

// refusal is a decoded refusal: its message, matching its sentinel.
type refusal struct {
	msg      string
	sentinel error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.sentinel }

// EncodeResult serialises a result. Only refusals (IsRefusal) can be
// encoded; other errors never leave the node that saw them.
func EncodeResult(r Result) ([]byte, error) {
	w := wireResult{ID: r.ID}
	if r.Err != nil {
		for _, c := range refusalCodes {
			if errors.Is(r.Err, c.err) {
				w.Code, w.Msg = c.code, r.Err.Error()
				break
			}
		}
		if w.Code == "" {
			return nil, fmt.Errorf("result error is not a refusal: %w", r.Err)
		}
	}
	return json.Marshal(w)
}

// DecodeResult parses what EncodeResult wrote.
func DecodeResult(b []byte) (Result, error) {
	var w wireResult
	if err := json.Unmarshal(b, &w); err != nil {
		return Result{}, fmt.Errorf("decode result: %w", err)
	}
	res := Result{ID: w.ID}
	if w.Code == "" {
		return res, nil
	}
	for _, c := range refusalCodes {
		if c.code == w.Code {
			res.Err = &refusal{msg: w.Msg, sentinel: c.err}
			return res, nil
		}
	}
	return Result{}, fmt.Errorf("decode result: unknown refusal code %q", w.Code)
}
