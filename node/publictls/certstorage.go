package publictls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"

	"minitwit/raftfsm"
	"minitwit/store"
)

// Node is what CertStorage needs from a running node: proposing commands
// through Raft, and reading the store linearizably (ReadStore) or as this
// node has it (LocalStore).
type Node interface {
	Propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error)
	ReadStore(ctx context.Context) (*store.Store, error)
	LocalStore() *store.Store
}

// CertStorage is certmagic's Storage on the replicated state, so that the
// nodes behind one DNS name share one ACME account, one certificate and the
// challenge tokens (any node can answer a challenge another node started).
//
// Writes and locks go through Raft. Reads are linearizable when the
// cluster has a leader; without one they fall back to this node's own copy,
// which is durable and complete up to what this node applied: serving,
// and loading a certificate at start, never need quorum; only obtaining
// and renewing do.
//
// Locks are leases in the replicated state: the proposer stamps the
// current time and the expiry, every node judges the lease by those stamps,
// and each acquisition gets a unique owner token (and records its log
// index as the fence), so a holder whose lease expired and was taken over
// cannot release its successor's lock.
type CertStorage struct {
	n     Node
	owner string // this process: node id and a random suffix
	seq   atomic.Uint64
	ttl   time.Duration // lease length

	mu   sync.Mutex
	held map[string]string // lock name -> owner token of the lease we hold
}

// Lock timing: a lease lasts certLeaseTTL unless certmagic renews it (it
// does around long ACME operations); a waiter looks again every
// certLockPoll.
const (
	certLeaseTTL = 2 * time.Minute
	certLockPoll = 500 * time.Millisecond
	// certReadTimeout bounds how long a read waits for the leader before
	// it uses this node's own copy.
	certReadTimeout = 2 * time.Second
)

var (
	_ certmagic.Storage          = (*CertStorage)(nil)
	_ certmagic.LockLeaseRenewer = (*CertStorage)(nil)
)

// NewCertStorage returns the storage of node n, whose locks name nodeID
// (and a random suffix for this process) as their owner.
func NewCertStorage(n Node, nodeID string) *CertStorage {
	var b [6]byte
	rand.Read(b[:])
	return &CertStorage{n: n, owner: nodeID + "/" + hex.EncodeToString(b[:]), ttl: certLeaseTTL, held: map[string]string{}}
}

// SetLeaseTTL changes how long this storage's leases last (tests).
func (c *CertStorage) SetLeaseTTL(d time.Duration) { c.ttl = d }

func (c *CertStorage) propose(ctx context.Context, cmd raftfsm.Command) (raftfsm.Result, error) {
	res, err := c.n.Propose(ctx, cmd)
	if err != nil {
		return res, err
	}
	return res, res.Err
}

// view reads linearizably if the cluster can vouch for it, else locally.
func (c *CertStorage) view(ctx context.Context, fn func(r *store.ReadTx) error) error {
	rctx, cancel := context.WithTimeout(ctx, certReadTimeout)
	st, err := c.n.ReadStore(rctx)
	cancel()
	if err != nil {
		st = c.n.LocalStore()
	}
	return st.View(fn)
}

func (c *CertStorage) Store(ctx context.Context, key string, value []byte) error {
	_, err := c.propose(ctx, &raftfsm.CertPut{Key: key, Value: value, Modified: time.Now().UnixNano()})
	return err
}

func (c *CertStorage) Load(ctx context.Context, key string) ([]byte, error) {
	var f store.CertFile
	err := c.view(ctx, func(r *store.ReadTx) error {
		var err error
		f, err = r.Cert(key)
		return err
	})
	if errors.Is(err, store.ErrCertNotFound) {
		return nil, fs.ErrNotExist
	}
	return f.Value, err
}

func (c *CertStorage) Delete(ctx context.Context, key string) error {
	_, err := c.propose(ctx, &raftfsm.CertDelete{Key: key})
	return err
}

func (c *CertStorage) Exists(ctx context.Context, key string) bool {
	// certmagic's Exists has no error to return: a failed read says "no",
	// as an absent key would.
	found := false
	if err := c.view(ctx, func(r *store.ReadTx) error {
		_, err := r.Cert(key)
		found = err == nil || r.CertDirExists(key)
		return nil
	}); err != nil {
		return false
	}
	return found
}

func (c *CertStorage) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	var keys []string
	if err := c.view(ctx, func(r *store.ReadTx) error {
		keys = r.CertKeys(path, recursive)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fs.ErrNotExist
	}
	return keys, nil
}

func (c *CertStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	info := certmagic.KeyInfo{Key: key}
	err := c.view(ctx, func(r *store.ReadTx) error {
		f, err := r.Cert(key)
		switch {
		case err == nil:
			info.Modified, info.Size, info.IsTerminal = time.Unix(0, f.Modified), int64(len(f.Value)), true
			return nil
		case r.CertDirExists(key):
			return nil
		}
		return err
	})
	if errors.Is(err, store.ErrCertNotFound) {
		return info, fs.ErrNotExist
	}
	return info, err
}

// Lock takes the lease on name, waiting (bounded by ctx) while another
// owner holds an unexpired one.
func (c *CertStorage) Lock(ctx context.Context, name string) error {
	token := fmt.Sprintf("%s/%d", c.owner, c.seq.Add(1))
	for {
		now := time.Now()
		_, err := c.propose(ctx, &raftfsm.CertLock{Name: name, Owner: token, Now: now.UnixNano(), Expires: now.Add(c.ttl).UnixNano()})
		if err == nil {
			c.mu.Lock()
			c.held[name] = token
			c.mu.Unlock()
			return nil
		}
		if !errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("certificate lock %q: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("certificate lock %q: %w", name, ctx.Err())
		case <-time.After(certLockPoll):
		}
	}
}

func (c *CertStorage) Unlock(ctx context.Context, name string) error {
	c.mu.Lock()
	token, ok := c.held[name]
	delete(c.held, name)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("certificate lock %q: not held here", name)
	}
	_, err := c.propose(ctx, &raftfsm.CertUnlock{Name: name, Owner: token})
	return err
}

// RenewLockLease extends a lease this node holds.
func (c *CertStorage) RenewLockLease(ctx context.Context, name string, d time.Duration) error {
	c.mu.Lock()
	token, ok := c.held[name]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("certificate lock %q: not held here", name)
	}
	now := time.Now()
	_, err := c.propose(ctx, &raftfsm.CertLock{Name: name, Owner: token, Now: now.UnixNano(), Expires: now.Add(d).UnixNano()})
	return err
}
