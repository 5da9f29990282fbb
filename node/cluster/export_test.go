package cluster

import "context"

// JoinAttemptForTest is a raw join client: it runs the first two steps of
// a join against member (what a node started with join does before it
// starts Raft) and hangs up. It returns the member's refusal, if any.
func JoinAttemptForTest(ctx context.Context, member, token, nodeID string) error {
	s, err := tryJoin(ctx, member, token, nodeID, "127.0.0.1:1")
	if err != nil {
		return err
	}
	return s.conn.Close()
}
