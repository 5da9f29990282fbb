package cluster

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"minitwit/store"
)

// Joining. A new node holds no certificate yet, so it proves the cluster's
// join token instead, bound to this very TLS session (keying material
// exported from the handshake), so a proof cannot be replayed or relayed:
//
//  1. joiner → member: its id, its raft address, a fresh public key, and
//     HMAC(token, "client" ‖ session ‖ id ‖ addr ‖ key).
//  2. member → joiner: HMAC(token, "server" ‖ session ‖ cert), the cluster
//     CA and a certificate for the joiner's key. Each side checks the
//     other's proof; a wrong token is refused with a clear error on both.
//     Before answering, the member has the leader add the joiner as a
//     non-voter: it is a member from here on (boundary.go).
//  3. The joiner starts its Raft listener with the new certificate and says
//     "ready"; the member confirms the add (the leader promotes it once it
//     has caught up and serves: membership.go) and reports back.
//
// Every message is one line of JSON. The member reads the joiner's first
// message (step 1) with a cap of maxJoinMessage and within joinHelloTimeout,
// before the joiner has proven anything; see portguard.go for the rest of
// what bounds an unauthenticated peer.
const (
	joinLabel = "minitwit join v1"
	// JoinTimeout bounds each of a join's two waits: from the first
	// message to the member's welcome, and from the joiner's "ready" to
	// the member's "added". Each wait covers one membership change
	// (joinAddTimeout) with room to spare; one bound for both together ran
	// out on a busy machine with both changes slow but within theirs.
	JoinTimeout = 60 * time.Second
	// joinAddTimeout bounds one membership change made for a joiner.
	joinAddTimeout = 45 * time.Second
	// joinHelloTimeout bounds the wait for the first message; a joiner
	// sends it right after the handshake.
	joinHelloTimeout = 5 * time.Second
	// maxJoinMessage caps a joiner's messages (the first is ~400 bytes).
	maxJoinMessage = 4 << 10
	// maxWelcome caps the member's answers, read by the joiner (two
	// certificates and a proof: ~2 KiB).
	maxWelcome = 64 << 10
)

// errJoinMessageTooLong: a join message exceeded its cap.
var errJoinMessageTooLong = errors.New("join message too long")

// readJoinMessage reads one line of JSON into v from rd, whose buffer size
// is the message's cap.
func readJoinMessage(rd *bufio.Reader, v any) error {
	line, err := rd.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return errJoinMessageTooLong
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

type joinHello struct {
	NodeID    string `json:"node_id"`
	RaftAddr  string `json:"raft_addr"`
	PublicKey []byte `json:"public_key"` // PKIX DER
	Proof     []byte `json:"proof"`
}

type joinWelcome struct {
	Error    string `json:"error,omitempty"`
	Proof    []byte `json:"proof,omitempty"`
	CACert   []byte `json:"ca_cert,omitempty"`
	NodeCert []byte `json:"node_cert,omitempty"`
}

type joinReady struct {
	Ready bool `json:"ready"`
}

type joinDone struct {
	Error string `json:"error,omitempty"`
}

func joinMAC(token string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, []byte(token))
	for _, p := range parts {
		fmt.Fprintf(m, "%d:", len(p))
		m.Write(p)
	}
	return m.Sum(nil)
}

func exportedSession(c *tls.Conn) ([]byte, error) {
	cs := c.ConnectionState()
	return cs.ExportKeyingMaterial(joinLabel, nil, 32)
}

// JoinSession is a joiner's open handshake between steps 2 and 3.
type JoinSession struct {
	conn   *tls.Conn
	rd     *bufio.Reader
	member string
	tls    *TLS
	keyPEM []byte
}

// TLS is the identity the member issued.
func (s *JoinSession) TLS() *TLS { return s.tls }

// KeyPEM is the private key of that identity.
func (s *JoinSession) KeyPEM() []byte { return s.keyPEM }

// Member is the member that admitted this node.
func (s *JoinSession) Member() string { return s.member }

// Close hangs up without finishing (the joiner failed before step 3).
func (s *JoinSession) Close() error { return s.conn.Close() }

// BeginJoin runs steps 1-2 against the first member that answers.
func BeginJoin(ctx context.Context, members []string, token, nodeID, raftAddr string) (*JoinSession, error) {
	if token == "" {
		return nil, errors.New("join: a join token is needed (--join-token or MINITWIT_JOIN_TOKEN)")
	}
	var errs []error
	for _, m := range members {
		s, err := tryJoin(ctx, m, token, nodeID, raftAddr)
		if err == nil {
			return s, nil
		}
		var refused *joinRefusedError
		if errors.As(err, &refused) {
			return nil, err // a member said no: asking the next one would not change that
		}
		errs = append(errs, fmt.Errorf("%s: %w", m, err))
	}
	return nil, fmt.Errorf("join: no member answered: %w", errors.Join(errs...))
}

// joinRefusedError is a member's explicit refusal.
type joinRefusedError struct{ member, reason string }

func (e *joinRefusedError) Error() string {
	return fmt.Sprintf("join: %s refused: %s", e.member, e.reason)
}

func tryJoin(ctx context.Context, member, token, nodeID, raftAddr string) (*JoinSession, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// The member's certificate cannot be checked yet (we have no CA); its
	// proof of the token in step 2 is what authenticates it.
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: handshakeTimeout},
		Config: &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}}
	raw, err := d.DialContext(ctx, "tcp", member)
	if err != nil {
		return nil, err
	}
	conn := raw.(*tls.Conn)
	ok := false
	defer func() {
		if !ok {
			conn.Close()
		}
	}()
	conn.SetDeadline(time.Now().Add(JoinTimeout))
	if _, err := conn.Write([]byte{prefaceJoin}); err != nil {
		return nil, err
	}
	session, err := exportedSession(conn)
	if err != nil {
		return nil, err
	}
	key, keyPEM, err := NewNodeKey()
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	hello := joinHello{NodeID: nodeID, RaftAddr: raftAddr, PublicKey: pub,
		Proof: joinMAC(token, []byte("client"), session, []byte(nodeID), []byte(raftAddr), pub)}
	if err := json.NewEncoder(conn).Encode(hello); err != nil {
		return nil, err
	}
	rd := bufio.NewReaderSize(conn, maxWelcome)
	var welcome joinWelcome
	if err := readJoinMessage(rd, &welcome); err != nil {
		return nil, fmt.Errorf("reading the member's answer: %w", err)
	}
	if welcome.Error != "" {
		return nil, &joinRefusedError{member, welcome.Error}
	}
	if !hmac.Equal(welcome.Proof, joinMAC(token, []byte("server"), session, welcome.NodeCert)) {
		return nil, &joinRefusedError{member, "it could not prove it knows the join token (a different cluster, or someone in between)"}
	}
	t, err := MakeTLS(welcome.CACert, welcome.NodeCert, keyPEM)
	if err != nil {
		return nil, err
	}
	ok = true
	return &JoinSession{conn: conn, rd: rd, member: member, tls: t, keyPEM: keyPEM}, nil
}

// Finish runs step 3 once this node's Raft is listening.
func (s *JoinSession) Finish() error {
	defer s.conn.Close()
	s.conn.SetDeadline(time.Now().Add(JoinTimeout))
	if err := json.NewEncoder(s.conn).Encode(joinReady{Ready: true}); err != nil {
		return fmt.Errorf("join: %s: %w", s.member, err)
	}
	var done joinDone
	if err := readJoinMessage(s.rd, &done); err != nil {
		return fmt.Errorf("join: %s: waiting to be added: %w", s.member, err)
	}
	if done.Error != "" {
		return &joinRefusedError{s.member, done.Error}
	}
	return nil
}

// serveJoin is the member's side of a join handshake. The connection is
// on the port guard's list of unauthenticated ones until the joiner has
// proven the token.
func (s *Server) serveJoin(jc joinConn) {
	conn, guard := jc.conn, s.ln.guard
	defer conn.Close()
	defer jc.release()
	conn.SetDeadline(time.Now().Add(joinHelloTimeout))
	peer := conn.RemoteAddr().String()
	session, err := exportedSession(conn)
	if err != nil {
		return
	}
	rd := bufio.NewReaderSize(conn, maxJoinMessage)
	var hello joinHello
	if err := readJoinMessage(rd, &hello); err != nil {
		guard.refuse(refusedBadMessage, conn.RemoteAddr())
		return // not speaking the protocol: no answer
	}
	// Refusals before the token is proven are counted for the port guard's
	// aggregated line; the joiner gets the reason.
	answer := func(reason string) {
		json.NewEncoder(conn).Encode(joinWelcome{Error: reason})
	}
	if wait := guard.backedOff(conn.RemoteAddr()); wait > 0 {
		guard.refuse(refusedBackedOff, conn.RemoteAddr())
		answer(fmt.Sprintf("too many wrong join tokens from this address; retry in %s", wait.Round(100*time.Millisecond)))
		return
	}
	// After the proof, a refusal concerns a peer that knows the token: it
	// is worth a line of its own.
	refuse := func(reason string, attrs ...any) {
		s.log.Warn("join refused", append([]any{"peer", peer, "node_id", hello.NodeID, "reason", reason}, attrs...)...)
		answer(reason)
	}
	var sec store.ClusterSecrets
	if err := s.host.LocalStore().View(func(r *store.ReadTx) error { sec = r.Secrets(); return nil }); err != nil {
		refuse("this member cannot read the cluster secrets; retry in a moment", "err", err.Error())
		return
	}
	if len(sec.JoinToken) == 0 || len(sec.CAKey) == 0 {
		answer("this cluster is not initialised yet; retry in a moment")
		return
	}
	token := string(sec.JoinToken)
	want := joinMAC(token, []byte("client"), session, []byte(hello.NodeID), []byte(hello.RaftAddr), hello.PublicKey)
	if !hmac.Equal(hello.Proof, want) {
		s.host.Metrics().APIRefused("join_token")
		guard.wrongToken(conn.RemoteAddr())
		guard.refuse(refusedWrongToken, conn.RemoteAddr())
		answer("wrong join token")
		return
	}
	guard.tokenProven(conn.RemoteAddr())
	jc.release()
	conn.SetDeadline(time.Now().Add(JoinTimeout))
	if err := validNodeID(hello.NodeID); err != nil {
		refuse(err.Error())
		return
	}
	if _, _, err := net.SplitHostPort(hello.RaftAddr); err != nil {
		refuse("raft_addr is not host:port")
		return
	}
	// The leader checks this too (addMemberHere); asking here first gives
	// the joiner the reason without a round trip, and issues no
	// certificate for a voter's id.
	if err := s.joinTakesVoter(hello.NodeID, hello.RaftAddr); err != nil {
		refuse(err.Error())
		return
	}
	pubAny, err := x509.ParsePKIXPublicKey(hello.PublicKey)
	pub, isEC := pubAny.(*ecdsa.PublicKey)
	if err != nil || !isEC {
		refuse("the public key is not an ECDSA key")
		return
	}
	ca, err := ParseCA(sec.CACert, sec.CAKey)
	if err != nil {
		refuse("the cluster CA is unusable", "err", err.Error())
		return
	}
	cert, err := ca.Issue(hello.NodeID, pub)
	if err != nil {
		refuse("issuing a certificate failed", "err", err.Error())
		return
	}
	// The joiner is a member, as a non-voter, from the moment it has proven
	// the token (membership is the boundary: boundary.go): it shows in
	// `cluster status` at once, and one that never comes up is removed by
	// the leader after Config.JoinerBound (membership.go).
	actx, acancel := context.WithTimeout(context.Background(), joinAddTimeout)
	err = s.AddMember(actx, hello.NodeID, hello.RaftAddr)
	acancel()
	if err != nil {
		refuse("adding the node failed: "+err.Error(), "err", err.Error())
		return
	}
	// Every CA the cluster trusts: during a CA rotation the members
	// present certificates of either (carotate.go).
	trusted := slices.Concat(sec.CACert, sec.CANextCert, sec.CAPrevCert)
	welcome := joinWelcome{Proof: joinMAC(token, []byte("server"), session, cert), CACert: trusted, NodeCert: cert}
	if err := json.NewEncoder(conn).Encode(welcome); err != nil {
		return
	}
	conn.SetDeadline(time.Now().Add(JoinTimeout)) // the joiner starts its Raft meanwhile
	var ready joinReady
	if err := readJoinMessage(rd, &ready); err != nil || !ready.Ready {
		return
	}
	conn.SetDeadline(time.Now().Add(JoinTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), joinAddTimeout)
	defer cancel()
	done := joinDone{}
	if err := s.AddMember(ctx, hello.NodeID, hello.RaftAddr); err != nil { // a non-voter first: membership.go
		done.Error = "adding the node failed: " + err.Error()
	} else {
		s.log.Info("node joined", "node_id", hello.NodeID, "raft_addr", hello.RaftAddr)
	}
	json.NewEncoder(conn).Encode(done)
}

// validNodeID applies config's rule for node ids to one that arrives over
// the wire.
func validNodeID(id string) error {
	if len(id) == 0 || len(id) > 64 {
		return errors.New("node id must be 1 to 64 characters")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("node id %q may only use letters, digits, '.', '_' and '-'", id)
		}
	}
	return nil
}
