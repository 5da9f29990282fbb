package cluster

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestAtLeaderFollowsTheLeader: an operator request that reaches a member
// which no longer leads ("not the leader": nothing was done) is sent again
// to the leader of the moment; "outcome unknown" only when the request is
// safe to repeat; any other answer at once; and never more than
// leaderAttempts times. (cluster remove failed with "421: not the
// leader" beside a second test suite when leadership moved between
// finding the leader and asking it.)
func TestAtLeaderFollowsTheLeader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// leadership moves a → b → c; only c, the leader, does the work
	run := func(unknownToo bool, answer func(leader string) error) ([]string, error) {
		var asked []string
		find := func() (string, error) { return []string{"a", "b", "c"}[min(len(asked), 2)], nil }
		err := atLeader(ctx, find, unknownToo, func(leader string) error {
			asked = append(asked, leader)
			return answer(leader)
		})
		return asked, err
	}
	notLeader := &rpcError{status: 421, code: codeNotLeader, msg: "not the leader"}
	unknown := &rpcError{status: 503, code: codeOutcomeUnknown, msg: "outcome unknown"}
	bad := &rpcError{status: 400, code: codeBadRequest, msg: "no such member"}
	answerOnlyOnC := func(fail error) func(string) error {
		return func(leader string) error {
			if leader == "c" {
				return nil
			}
			return fail
		}
	}

	if asked, err := run(false, answerOnlyOnC(notLeader)); err != nil || !slices.Equal(asked, []string{"a", "b", "c"}) {
		t.Errorf("not the leader twice: asked %v, err %v; want a, b, c and success", asked, err)
	}
	if asked, err := run(false, answerOnlyOnC(unknown)); !errors.Is(err, unknown) || len(asked) != 1 {
		t.Errorf("outcome unknown, not safe to repeat: asked %v, err %v; want one request and its error", asked, err)
	}
	if asked, err := run(true, answerOnlyOnC(unknown)); err != nil || len(asked) != 3 {
		t.Errorf("outcome unknown, safe to repeat: asked %v, err %v; want it sent again", asked, err)
	}
	if asked, err := run(false, answerOnlyOnC(bad)); !errors.Is(err, bad) || len(asked) != 1 {
		t.Errorf("a refusal: asked %v, err %v; want one request and its error", asked, err)
	}
	always := func(string) error { return notLeader }
	var asked []string
	err := atLeader(ctx, func() (string, error) { return "a", nil }, false, func(l string) error { asked = append(asked, l); return always(l) })
	if !errors.Is(err, notLeader) || len(asked) != leaderAttempts {
		t.Errorf("leadership never settles: %d requests, err %v; want %d and the last answer", len(asked), err, leaderAttempts)
	}
}
