package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"minitwit/ops/alerting"
)

// The leader's alert evaluator asks every member for its facts; the
// request carries the evaluator's state, so every member holds the last
// one and a new leader carries on from it (node/alerts.go).

func (s *Server) serveAlertFacts(w http.ResponseWriter, r *http.Request) {
	if !s.host.Up() {
		rpcFail(w, codeUnavailable, errors.New("starting"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRPCBody))
	if err != nil {
		rpcFail(w, codeBadRequest, fmt.Errorf("bad alert state: %w", err))
		return
	}
	var push *alerting.State
	if len(body) > 0 {
		push = new(alerting.State)
		if err := json.Unmarshal(body, push); err != nil {
			rpcFail(w, codeBadRequest, fmt.Errorf("bad alert state: %w", err))
			return
		}
	}
	_ = json.NewEncoder(w).Encode(s.host.AlertFacts(push)) // a broken connection is the asker's to notice
}

// AlertFacts asks the member at addr for its facts, handing it the
// evaluator's state when push is set. answered reports whether it answered
// at all: one that is starting, or older than in-node alerts, answers
// without facts (nil) and is up all the same.
func (c *Client) AlertFacts(ctx context.Context, addr string, push *alerting.State) (facts *alerting.Facts, answered bool) {
	var body any
	if push != nil {
		body = push
	}
	data, err := c.do(ctx, http.MethodPost, addr, rpcAlertFacts, body)
	var re *rpcError
	if errors.As(err, &re) {
		return nil, true
	}
	if err != nil {
		return nil, false
	}
	var f alerting.Facts
	if json.Unmarshal(data, &f) != nil {
		return nil, true
	}
	return &f, true
}
