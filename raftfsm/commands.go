package raftfsm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// FormatVersion is the newest command encoding this code reads. Each
// command is written with the version that introduced its kind (see
// sinceVersion), so older kinds keep their bytes, and a binary older than a
// kind sees a larger version than it reads. A log entry with a larger
// version comes from a newer binary; this node stops rather than misread it.
const FormatVersion = 5

// Kind identifies a command type on the wire. Values are never reused.
type Kind uint8

// Command kinds.
const (
	KindRegister    Kind = 1
	KindPostMessage Kind = 2
	KindFollow      Kind = 3
	KindUnfollow    Kind = 4
	KindSetLatest   Kind = 5
	KindFlagMessage Kind = 6
	KindInitSecrets Kind = 7
	KindBatch       Kind = 8
	KindTagged      Kind = 9 // format 2
	KindCertPut     Kind = 10
	KindCertDelete  Kind = 11
	KindCertLock    Kind = 12
	KindCertUnlock  Kind = 13
	KindImport      Kind = 14
	KindRehash      Kind = 15
	KindSetAdmin    Kind = 16 // format 3
	KindSetPassword Kind = 17
	KindCreateAdmin Kind = 18
	KindEndSessions Kind = 19 // format 4
	KindTOTPEnroll  Kind = 20 // format 5
	KindTOTPUse     Kind = 21
	KindTOTPReset   Kind = 22
	KindRevokeNode  Kind = 23
	KindFoldNames   Kind = 25 // 24: unused
	KindRotateToken Kind = 26
	KindAudit       Kind = 27
	KindRotateCA    Kind = 28
)

// FormatOf is the format version a command is written with: a member
// whose binary reads less cannot apply it (see ErrOlderMembers).
func FormatOf(c Command) byte { return sinceVersion(c.Kind()) }

// ReleasedFormat is the newest format that every MiniTwit release still in
// use reads; commands up to it may always be proposed. A command of a newer
// format may only be proposed once every member reads it, or the older
// members would stop on it in the middle of a rolling upgrade.
const ReleasedFormat = 2

// sinceVersion is the format version that introduced a kind: Tagged and the
// kinds after it up to Rehash are format 2, the admin commands format 3,
// EndSessions format 4, the second-factor (TOTP) commands, RevokeNode,
// FoldNames, RotateJoinToken, Audit and RotateCA format 5.
func sinceVersion(k Kind) byte {
	switch {
	case k >= KindTOTPEnroll:
		return 5
	case k >= KindEndSessions:
		return 4
	case k >= KindSetAdmin:
		return 3
	case k >= KindTagged:
		return 2
	}
	return 1
}

// Latest is the simulator's action id that a request carried, if any. It is
// recorded in the same transaction as the command it came with, so it never
// claims work that was not stored.
type Latest struct {
	Value int64
	Set   bool
}

// LatestOf is a Latest carrying v.
func LatestOf(v int64) Latest { return Latest{Value: v, Set: true} }

// Command is one replicated state change.
type Command interface {
	Kind() Kind
	encode(e *encoder)
	decode(d *decoder)
}

// Register creates a user. PasswordHash is computed by the proposer.
type Register struct {
	Username, Email, PasswordHash string
	Latest                        Latest
}

// PostMessage records a message. PubDate is stamped by the proposer.
type PostMessage struct {
	Author, Text string
	PubDate      int64
	Latest       Latest
}

// Follow makes Who follow Whom.
type Follow struct {
	Who, Whom string
	Latest    Latest
}

// Unfollow removes Who's follow of Whom, if any.
type Unfollow struct {
	Who, Whom string
	Latest    Latest
}

// SetLatest only records the simulator's latest action id (for requests that
// change nothing else: reads, refusals, bad input).
type SetLatest struct {
	Latest Latest
}

// FlagMessage hides (Flagged) or shows a message everywhere.
type FlagMessage struct {
	MessageID uint64
	Flagged   bool
}

// InitSecrets sets cluster-wide secrets: each one the first time it is
// proposed; later proposals leave a set secret alone, so racing proposers
// agree on the first.
type InitSecrets struct {
	SessionKey, CACert, CAKey, JoinToken []byte
}

// Batch carries several encoded commands in one log entry: the node's group
// commit gathers proposals that arrive while earlier ones are being
// committed, so one log append and one transaction serve them all. Entries
// are applied in order, each with its own result; a batch inside a batch
// is refused.
type Batch struct {
	Entries [][]byte
}

// RequestID names one client request across retries. The node that first
// receives a request gives it an ID; when the request's outcome is unknown
// (the leader failed while it was in flight), the node sends it again with
// the same ID, and the leader answers from the FSM's record of recent IDs
// instead of applying it twice (see FSM.Recent).
type RequestID [16]byte

// Tagged carries one encoded command (never a Batch or another Tagged)
// with the ID of the request it serves. It applies as the command does;
// the FSM also records the ID and the result.
type Tagged struct {
	ID  RequestID
	Cmd []byte
}

// CertPut stores a value in the certificate storage (certmagic's files);
// Modified is stamped by the proposer.
type CertPut struct {
	Key      string
	Value    []byte
	Modified int64
}

// CertDelete deletes a key of the certificate storage and everything below
// it.
type CertDelete struct {
	Key string
}

// CertLock takes (or renews) the lease on a named lock until Expires, if
// no other owner holds one that is unexpired at Now; both are stamped by
// the proposer. The lease records the log index that took it (its fence).
type CertLock struct {
	Name, Owner  string
	Now, Expires int64
}

// CertUnlock ends Owner's lease on Name, if Owner still holds it.
type CertUnlock struct {
	Name, Owner string
}

// ImportedMessage is one message of a course database.
type ImportedMessage struct {
	LegacyID uint64
	Author   string
	Text     string
	PubDate  int64
	Flagged  bool
}

// ImportMessages posts messages of a course database, in order, each once
// (a legacy id imported before is skipped), in one transaction. A message
// the store refuses (its author unknown, say) is skipped; the result's ID
// counts the messages that are now imported.
type ImportMessages struct {
	Messages []ImportedMessage
}

// Rehash replaces User's password hash with New if it still is Old: a
// login upgrading a legacy hash to argon2id.
type Rehash struct {
	User, Old, New string
}

// SetAdmin grants (Admin) or revokes User's admin rights. Revoking the last
// admin is refused (store.ErrLastAdmin).
type SetAdmin struct {
	User  string
	Admin bool
}

// SetPassword replaces User's password hash with Hash, computed by the
// proposer (an admin resetting a password).
type SetPassword struct {
	User, Hash string
	// Temporary marks a generated one-time password, which the user must
	// replace at the next sign-in.
	Temporary bool
	// Old, when set, makes the change conditional: it applies only while
	// the stored hash is still Old (a user changing their own password
	// must not undo an admin's reset that landed meanwhile), else it is
	// refused with store.ErrPasswordChanged.
	Old string
}

// CreateAdmin registers a user who is an admin. FirstOnly makes it the
// cluster's first admin or nothing: it is refused (store.ErrAdminExists)
// once any admin exists, so a node that proposes it on a cluster's first
// start can propose it again after a restart without effect.
type CreateAdmin struct {
	Username, Email, PasswordHash string
	FirstOnly                     bool
	// Temporary marks a generated one-time password (see SetPassword).
	Temporary bool
}

// EndSessions ends every session of User made so far (sign-out, an
// admin's revoke) by bumping the user's session generation; Result.ID is
// the new generation.
type EndSessions struct {
	User string
}

// TOTPEnroll gives User a second factor (TOTP): Secret, confirmed by a
// code of time step Step (so that code cannot be used again), and the
// hashes of fresh recovery codes. It replaces an earlier one. The proposer
// checked the code; the command carries no code and no recovery code.
type TOTPEnroll struct {
	User, Secret   string
	Step           uint64
	RecoveryHashes []string
}

// TOTPUse spends one of User's second-factor codes at sign-in: with
// RecoveryHash empty a code of time step Step, which must come after the
// last accepted step, else the recovery code of that hash, which must be
// unspent; refused with store.ErrCodeUsed otherwise. Result.ID is the
// number of recovery codes left.
type TOTPUse struct {
	User         string
	Step         uint64
	RecoveryHash string
}

// TOTPReset removes User's second factor (`minitwit admin reset-2fa`);
// Result.ID is 1 when there was one, else 0.
type TOTPReset struct {
	User string
}

func (TOTPEnroll) Kind() Kind { return KindTOTPEnroll }
func (TOTPUse) Kind() Kind    { return KindTOTPUse }
func (TOTPReset) Kind() Kind  { return KindTOTPReset }

// FoldNames turns on case-insensitive name uniqueness in the state
// machine (store.EnableFoldedNames): from its index on, a registration or
// admin whose name folds to a taken one is refused with store.ErrNameTaken.
// The leader proposes it once every member reads format 5; it carries
// nothing, and applying it again changes nothing.
type FoldNames struct{}

func (FoldNames) Kind() Kind { return KindFoldNames }

// RevokeNode refuses, from now on, every cluster certificate issued for
// node ID before Before (Unix nanoseconds): the leader proposes it when it
// removes a member, so an ID added again later does not make the removed
// node's certificates valid again (node/cluster/boundary.go).
type RevokeNode struct {
	ID     string
	Before int64
}

func (RevokeNode) Kind() Kind { return KindRevokeNode }

func (c *RevokeNode) encode(e *encoder) { e.str(c.ID); e.varint(c.Before) }
func (c *RevokeNode) decode(d *decoder) { c.ID, c.Before = d.str(), d.varint() }

// RotateJoinToken replaces the cluster's join token (`minitwit cluster
// token --rotate`): from its index on, every member admits joiners with
// Token only. The proposer made the token; one shorter than
// store.MinJoinTokenLen is refused.
type RotateJoinToken struct {
	Token []byte
}

func (RotateJoinToken) Kind() Kind { return KindRotateToken }

// RotateCA is one step of a cluster CA rotation (`minitwit cluster ca
// --rotate`; store/carotation.go): StepStage stores Cert and Key as the
// next CA (members trust both), StepSwitch makes the staged CA Cert the
// current one (the old one stays trusted), StepRetire drops the previous CA
// Cert. The tool made the CA.
type RotateCA struct {
	Step      uint8
	Cert, Key []byte
}

// The steps of RotateCA.
const (
	CAStepStage  uint8 = 1
	CAStepSwitch uint8 = 2
	CAStepRetire uint8 = 3
)

func (RotateCA) Kind() Kind { return KindRotateCA }

func (EndSessions) Kind() Kind    { return KindEndSessions }
func (Register) Kind() Kind       { return KindRegister }
func (PostMessage) Kind() Kind    { return KindPostMessage }
func (Follow) Kind() Kind         { return KindFollow }
func (Unfollow) Kind() Kind       { return KindUnfollow }
func (SetLatest) Kind() Kind      { return KindSetLatest }
func (FlagMessage) Kind() Kind    { return KindFlagMessage }
func (InitSecrets) Kind() Kind    { return KindInitSecrets }
func (Batch) Kind() Kind          { return KindBatch }
func (Tagged) Kind() Kind         { return KindTagged }
func (CertPut) Kind() Kind        { return KindCertPut }
func (CertDelete) Kind() Kind     { return KindCertDelete }
func (CertLock) Kind() Kind       { return KindCertLock }
func (CertUnlock) Kind() Kind     { return KindCertUnlock }
func (ImportMessages) Kind() Kind { return KindImport }
func (Rehash) Kind() Kind         { return KindRehash }
func (SetAdmin) Kind() Kind       { return KindSetAdmin }
func (SetPassword) Kind() Kind    { return KindSetPassword }
func (CreateAdmin) Kind() Kind    { return KindCreateAdmin }

func (c *TOTPEnroll) encode(e *encoder) {
	e.str(c.User)
	e.str(c.Secret)
	e.uvarint(c.Step)
	e.uvarint(uint64(len(c.RecoveryHashes)))
	for _, h := range c.RecoveryHashes {
		e.str(h)
	}
}
func (c *TOTPEnroll) decode(d *decoder) {
	c.User, c.Secret, c.Step = d.str(), d.str(), d.uvarint()
	n := d.uvarint()
	if n > uint64(len(d.buf)) { // every hash takes at least one byte
		d.fail()
		return
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		c.RecoveryHashes = append(c.RecoveryHashes, d.str())
	}
}
func (c *TOTPUse) encode(e *encoder)   { e.str(c.User); e.uvarint(c.Step); e.str(c.RecoveryHash) }
func (c *TOTPUse) decode(d *decoder)   { c.User, c.Step, c.RecoveryHash = d.str(), d.uvarint(), d.str() }
func (c *TOTPReset) encode(e *encoder) { e.str(c.User) }
func (c *TOTPReset) decode(d *decoder) { c.User = d.str() }

func (c *FoldNames) encode(*encoder)     {}
func (c *FoldNames) decode(*decoder)     {}
func (c *EndSessions) encode(e *encoder) { e.str(c.User) }
func (c *EndSessions) decode(d *decoder) { c.User = d.str() }

func (c *Register) encode(e *encoder) {
	e.str(c.Username)
	e.str(c.Email)
	e.str(c.PasswordHash)
	e.latest(c.Latest)
}
func (c *Register) decode(d *decoder) {
	c.Username, c.Email, c.PasswordHash, c.Latest = d.str(), d.str(), d.str(), d.latest()
}
func (c *PostMessage) encode(e *encoder) {
	e.str(c.Author)
	e.str(c.Text)
	e.varint(c.PubDate)
	e.latest(c.Latest)
}
func (c *PostMessage) decode(d *decoder) {
	c.Author, c.Text, c.PubDate, c.Latest = d.str(), d.str(), d.varint(), d.latest()
}
func (c *Follow) encode(e *encoder) { e.str(c.Who); e.str(c.Whom); e.latest(c.Latest) }
func (c *Follow) decode(d *decoder) { c.Who, c.Whom, c.Latest = d.str(), d.str(), d.latest() }
func (c *Unfollow) encode(e *encoder) {
	e.str(c.Who)
	e.str(c.Whom)
	e.latest(c.Latest)
}
func (c *Unfollow) decode(d *decoder)  { c.Who, c.Whom, c.Latest = d.str(), d.str(), d.latest() }
func (c *SetLatest) encode(e *encoder) { e.latest(c.Latest) }
func (c *SetLatest) decode(d *decoder) { c.Latest = d.latest() }
func (c *FlagMessage) encode(e *encoder) {
	e.uvarint(c.MessageID)
	e.bool(c.Flagged)
}
func (c *FlagMessage) decode(d *decoder) { c.MessageID, c.Flagged = d.uvarint(), d.bool() }
func (c *InitSecrets) encode(e *encoder) {
	e.bytes(c.SessionKey)
	e.bytes(c.CACert)
	e.bytes(c.CAKey)
	e.bytes(c.JoinToken)
}
func (c *InitSecrets) decode(d *decoder) {
	c.SessionKey, c.CACert, c.CAKey, c.JoinToken = d.bytes(), d.bytes(), d.bytes(), d.bytes()
}
func (c *RotateJoinToken) encode(e *encoder) { e.bytes(c.Token) }
func (c *RotateJoinToken) decode(d *decoder) { c.Token = d.bytes() }

func (c *RotateCA) encode(e *encoder) {
	e.uvarint(uint64(c.Step))
	e.bytes(c.Cert)
	e.bytes(c.Key)
}

func (c *RotateCA) decode(d *decoder) {
	c.Step, c.Cert, c.Key = uint8(d.uvarint()), d.bytes(), d.bytes()
}

func (c *Batch) encode(e *encoder) {
	e.uvarint(uint64(len(c.Entries)))
	for _, b := range c.Entries {
		e.bytes(b)
	}
}
func (c *Batch) decode(d *decoder) {
	n := d.uvarint()
	if n > uint64(len(d.buf)) { // every entry takes at least one byte
		d.fail()
		return
	}
	c.Entries = make([][]byte, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		c.Entries = append(c.Entries, d.bytes())
	}
}

func (c *Tagged) encode(e *encoder) {
	e.buf = append(e.buf, c.ID[:]...)
	e.bytes(c.Cmd)
}
func (c *Tagged) decode(d *decoder) {
	if len(d.buf) < len(c.ID) {
		d.fail()
		return
	}
	copy(c.ID[:], d.buf)
	d.buf = d.buf[len(c.ID):]
	c.Cmd = d.bytes()
}

func (c *CertPut) encode(e *encoder) {
	e.str(c.Key)
	e.bytes(c.Value)
	e.varint(c.Modified)
}
func (c *CertPut) decode(d *decoder) {
	c.Key, c.Value, c.Modified = d.str(), d.bytes(), d.varint()
}
func (c *CertDelete) encode(e *encoder) { e.str(c.Key) }
func (c *CertDelete) decode(d *decoder) { c.Key = d.str() }
func (c *CertLock) encode(e *encoder) {
	e.str(c.Name)
	e.str(c.Owner)
	e.varint(c.Now)
	e.varint(c.Expires)
}
func (c *CertLock) decode(d *decoder) {
	c.Name, c.Owner, c.Now, c.Expires = d.str(), d.str(), d.varint(), d.varint()
}
func (c *CertUnlock) encode(e *encoder) { e.str(c.Name); e.str(c.Owner) }
func (c *CertUnlock) decode(d *decoder) { c.Name, c.Owner = d.str(), d.str() }

func (c *ImportMessages) encode(e *encoder) {
	e.uvarint(uint64(len(c.Messages)))
	for _, m := range c.Messages {
		e.uvarint(m.LegacyID)
		e.str(m.Author)
		e.str(m.Text)
		e.varint(m.PubDate)
		e.bool(m.Flagged)
	}
}
func (c *ImportMessages) decode(d *decoder) {
	n := d.uvarint()
	if n > uint64(len(d.buf)) { // every message takes several bytes
		d.fail()
		return
	}
	c.Messages = make([]ImportedMessage, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		c.Messages = append(c.Messages, ImportedMessage{LegacyID: d.uvarint(), Author: d.str(), Text: d.str(), PubDate: d.varint(), Flagged: d.bool()})
	}
}
func (c *Rehash) encode(e *encoder) { e.str(c.User); e.str(c.Old); e.str(c.New) }
func (c *Rehash) decode(d *decoder) { c.User, c.Old, c.New = d.str(), d.str(), d.str() }

func (c *SetAdmin) encode(e *encoder) { e.str(c.User); e.bool(c.Admin) }
func (c *SetAdmin) decode(d *decoder) { c.User, c.Admin = d.str(), d.bool() }
func (c *SetPassword) encode(e *encoder) {
	e.str(c.User)
	e.str(c.Hash)
	e.bool(c.Temporary)
	e.str(c.Old)
}
func (c *SetPassword) decode(d *decoder) {
	c.User, c.Hash, c.Temporary, c.Old = d.str(), d.str(), d.bool(), d.str()
}
func (c *CreateAdmin) encode(e *encoder) {
	e.str(c.Username)
	e.str(c.Email)
	e.str(c.PasswordHash)
	e.bool(c.FirstOnly)
	e.bool(c.Temporary)
}
func (c *CreateAdmin) decode(d *decoder) {
	c.Username, c.Email, c.PasswordHash, c.FirstOnly, c.Temporary = d.str(), d.str(), d.str(), d.bool(), d.bool()
}

// newCommand returns an empty command of kind k to decode into.
func newCommand(k Kind) Command {
	switch k {
	case KindRegister:
		return &Register{}
	case KindPostMessage:
		return &PostMessage{}
	case KindFollow:
		return &Follow{}
	case KindUnfollow:
		return &Unfollow{}
	case KindSetLatest:
		return &SetLatest{}
	case KindFlagMessage:
		return &FlagMessage{}
	case KindInitSecrets:
		return &InitSecrets{}
	case KindBatch:
		return &Batch{}
	case KindTagged:
		return &Tagged{}
	case KindCertPut:
		return &CertPut{}
	case KindCertDelete:
		return &CertDelete{}
	case KindCertLock:
		return &CertLock{}
	case KindCertUnlock:
		return &CertUnlock{}
	case KindImport:
		return &ImportMessages{}
	case KindRehash:
		return &Rehash{}
	case KindSetAdmin:
		return &SetAdmin{}
	case KindSetPassword:
		return &SetPassword{}
	case KindCreateAdmin:
		return &CreateAdmin{}
	case KindEndSessions:
		return &EndSessions{}
	case KindTOTPEnroll:
		return &TOTPEnroll{}
	case KindTOTPUse:
		return &TOTPUse{}
	case KindTOTPReset:
		return &TOTPReset{}
	case KindFoldNames:
		return &FoldNames{}
	case KindRevokeNode:
		return &RevokeNode{}
	case KindRotateToken:
		return &RotateJoinToken{}
	case KindAudit:
		return &Audit{}
	case KindRotateCA:
		return &RotateCA{}
	}
	return nil
}

// Errors of decoding.
var (
	ErrNewerFormat = errors.New("command was written by a newer version of minitwit")
	// ErrOlderMembers refuses to propose a command that a member of the
	// cluster cannot read yet: finish the upgrade first.
	ErrOlderMembers = errors.New("a member of the cluster runs an older MiniTwit that cannot apply this change yet; upgrade every node first")
	ErrMalformed    = errors.New("malformed command")
)

// Encode serialises a command: format version, kind, then the fields.
func Encode(c Command) []byte {
	e := &encoder{buf: make([]byte, 0, 64)}
	e.buf = append(e.buf, sinceVersion(c.Kind()), byte(c.Kind()))
	c.encode(e)
	return e.buf
}

// Decode parses what Encode wrote. Commands are pointers to the types above.
func Decode(b []byte) (Command, error) { return decodeUpTo(b, FormatVersion) }

// decodeUpTo is Decode for a binary that reads formats up to maxFormat, so
// tests can check what an older binary does with a newer entry.
func decodeUpTo(b []byte, maxFormat byte) (Command, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	if b[0] > maxFormat {
		return nil, fmt.Errorf("%w (format %d, this binary reads up to %d)", ErrNewerFormat, b[0], maxFormat)
	}
	c := newCommand(Kind(b[1]))
	if c == nil {
		return nil, fmt.Errorf("%w: unknown kind %d", ErrMalformed, b[1])
	}
	d := &decoder{buf: b[2:]}
	c.decode(d)
	if d.err != nil || len(d.buf) != 0 {
		return nil, fmt.Errorf("%w: kind %d: bad field encoding", ErrMalformed, b[1])
	}
	return c, nil
}

type encoder struct{ buf []byte }

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.buf = append(e.buf, s...) }
func (e *encoder) bytes(b []byte)   { e.uvarint(uint64(len(b))); e.buf = append(e.buf, b...) }
func (e *encoder) bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}
func (e *encoder) latest(l Latest) {
	e.bool(l.Set)
	if l.Set {
		e.varint(l.Value)
	}
}

// decoder reads fields; after the first error every read returns a zero
// value and err stays set, so decode methods need no error plumbing.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail() { d.err, d.buf = ErrMalformed, nil }

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.buf)) {
		d.fail()
		return nil
	}
	if n == 0 {
		return nil // an absent field decodes as it was encoded: nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) str() string { return string(d.bytes()) }

func (d *decoder) bool() bool {
	if len(d.buf) == 0 || d.buf[0] > 1 {
		d.fail()
		return false
	}
	v := d.buf[0] == 1
	d.buf = d.buf[1:]
	return v
}

func (d *decoder) latest() Latest {
	if !d.bool() {
		return Latest{}
	}
	return LatestOf(d.varint())
}
