package cluster

import (
	"context"
	"errors"
	"net"
	"time"
)

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

// JoinKeepForTest is a raw join client that keeps what it is given: it
// proves the token, takes the certificate, never starts Raft, and returns
// a client that calls the cluster RPC with that certificate.
func JoinKeepForTest(ctx context.Context, member, token, nodeID string) (*Client, *TLS, error) {
	s, err := tryJoin(ctx, member, token, nodeID, "127.0.0.1:1")
	if err != nil {
		return nil, nil, err
	}
	s.conn.Close()
	return newClient(s.tls), s.tls, nil
}

// ClientForTest is a client with the identity t.
func ClientForTest(t *TLS) *Client { return newClient(t) }

// RoutesForTest lists the route table: method and path of every route.
func RoutesForTest() [][2]string {
	var out [][2]string
	for _, rt := range routes {
		out = append(out, [2]string{rt.method, rt.path})
	}
	return out
}

// CallForTest sends one request without a body and returns the answer's
// failure code ("" for 200 OK, or for an error that is not an answer).
func (c *Client) CallForTest(ctx context.Context, method, addr, path string) (string, error) {
	resp, err := c.send(ctx, method, addr, path, nil)
	var re *rpcError
	if errors.As(err, &re) {
		return re.code, nil
	}
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return "", nil
}

// RaftKeptOpenForTest opens a Raft connection to addr with t and reports
// whether the member kept it open for a moment (false: it closed it).
func RaftKeptOpenForTest(ctx context.Context, t *TLS, addr string) (bool, error) {
	conn, err := dialCluster(ctx, t, addr, prefaceRaft)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout(), nil
}

// RPCConnForTest opens a cluster RPC connection to addr with t, as the
// client does, and hands it over raw.
func RPCConnForTest(ctx context.Context, t *TLS, addr string) (net.Conn, error) {
	return dialCluster(ctx, t, addr, prefaceRPC)
}
