package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Certificate storage: the key-value space certmagic keeps certificates,
// keys, ACME accounts and challenge tokens in, with named leases for its
// cluster-wide locks. Keys are slash-separated paths. It lives in the
// "certs" bucket:
//
//	"f" + key  -> modified (8 bytes, Unix ns) + value
//	"l" + name -> expires (8 bytes, Unix ns) + fence (8 bytes, the log index
//	              that took the lease) + owner
//
// Times come from the proposer (the FSM reads no clock), so every node
// decides a lease's fate alike.

// Errors of the certificate storage.
var (
	ErrCertNotFound = errors.New("no such certificate storage key")
	// ErrLocked refuses a lease that another owner holds and that has not
	// expired.
	ErrLocked = errors.New("the lock is held by another owner")
)

// Limits on certificate storage, so a bad proposal cannot bloat the state.
const (
	MaxCertKeyBytes   = 1024
	MaxCertValueBytes = 1 << 20
)

var (
	certFilePrefix = []byte("f")
	certLockPrefix = []byte("l")
)

func certFileKey(key string) []byte  { return append(bytes.Clone(certFilePrefix), key...) }
func certLockKey(name string) []byte { return append(bytes.Clone(certLockPrefix), name...) }

func validateCertKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty certificate storage key", ErrInvalid)
	case len(key) > MaxCertKeyBytes:
		return fmt.Errorf("%w: certificate storage key longer than %d bytes", ErrInvalid, MaxCertKeyBytes)
	case strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "//"):
		return fmt.Errorf("%w: certificate storage key %q has an empty path segment", ErrInvalid, key)
	}
	return nil
}

// CertFile is one stored value.
type CertFile struct {
	Value    []byte
	Modified int64 // Unix ns
}

// CertLease is the holder of a named lock.
type CertLease struct {
	Owner   string
	Expires int64  // Unix ns
	Fence   uint64 // the log index at which it was taken
}

// Cert returns the value stored at key, or ErrCertNotFound. The value is a
// copy, valid after the transaction.
func (r *ReadTx) Cert(key string) (CertFile, error) {
	v := r.tx.Bucket(bucketCerts).Get(certFileKey(key))
	if len(v) < 8 {
		return CertFile{}, fmt.Errorf("%w: %q", ErrCertNotFound, key)
	}
	return CertFile{Modified: int64(binary.BigEndian.Uint64(v)), Value: bytes.Clone(v[8:])}, nil
}

// CertDirExists tells whether some key lies below dir ("dir/...").
func (r *ReadTx) CertDirExists(dir string) bool {
	prefix := certFileKey(dir + "/")
	k, _ := r.tx.Bucket(bucketCerts).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// CertKeys lists the keys below dir: every stored key when recursive,
// otherwise the direct children (files and directories) of dir. An empty
// dir is the root.
func (r *ReadTx) CertKeys(dir string, recursive bool) []string {
	prefix := certFilePrefix
	if dir != "" {
		prefix = certFileKey(dir + "/")
	}
	var out []string
	c := r.tx.Bucket(bucketCerts).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		full := string(k[len(certFilePrefix):])
		if recursive {
			out = append(out, full)
			continue
		}
		rest := full[len(prefix)-len(certFilePrefix):]
		child, _, deeper := strings.Cut(rest, "/")
		name := child
		if dir != "" {
			name = dir + "/" + child
		}
		if len(out) == 0 || out[len(out)-1] != name {
			out = append(out, name)
		}
		if deeper {
			// Skip the rest of this subdirectory in one seek.
			c.Seek(certFileKey(name + "0")) // '0' sorts right after '/'
			c.Prev()
		}
	}
	return out
}

// CertLease returns the lease on name, if any.
func (r *ReadTx) CertLease(name string) (CertLease, bool) {
	v := r.tx.Bucket(bucketCerts).Get(certLockKey(name))
	if len(v) < 16 {
		return CertLease{}, false
	}
	return CertLease{Expires: int64(binary.BigEndian.Uint64(v)), Fence: binary.BigEndian.Uint64(v[8:]), Owner: string(v[16:])}, true
}

// PutCert stores value at key.
func (w *WriteTx) PutCert(key string, value []byte, modified int64) error {
	if err := validateCertKey(key); err != nil {
		return err
	}
	if len(value) > MaxCertValueBytes {
		return fmt.Errorf("%w: certificate storage value larger than %d bytes", ErrInvalid, MaxCertValueBytes)
	}
	v := make([]byte, 8, 8+len(value))
	binary.BigEndian.PutUint64(v, uint64(modified))
	return w.tx.Bucket(bucketCerts).Put(certFileKey(key), append(v, value...))
}

// DeleteCert deletes key and everything below it as a directory. Deleting
// what does not exist is not an error.
func (w *WriteTx) DeleteCert(key string) error {
	if err := validateCertKey(key); err != nil {
		return err
	}
	b := w.tx.Bucket(bucketCerts)
	if err := b.Delete(certFileKey(key)); err != nil {
		return err
	}
	prefix := certFileKey(key + "/")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// AcquireCertLease gives owner the lease on name until expires, if nobody
// else holds an unexpired one as of now (both stamped by the proposer);
// the owner's own lease is renewed. fence records the log index of the
// acquisition. It refuses with ErrLocked otherwise.
func (w *WriteTx) AcquireCertLease(name, owner string, now, expires int64, fence uint64) error {
	if err := validateCertKey(name); err != nil {
		return err
	}
	if owner == "" || len(owner) > MaxCertKeyBytes {
		return fmt.Errorf("%w: lock owner must be 1 to %d bytes", ErrInvalid, MaxCertKeyBytes)
	}
	if cur, ok := w.CertLease(name); ok && cur.Owner != owner && cur.Expires > now {
		return fmt.Errorf("%w: %q until %d", ErrLocked, name, cur.Expires)
	}
	v := make([]byte, 16, 16+len(owner))
	binary.BigEndian.PutUint64(v, uint64(expires))
	binary.BigEndian.PutUint64(v[8:], fence)
	return w.tx.Bucket(bucketCerts).Put(certLockKey(name), append(v, owner...))
}

// ReleaseCertLease ends owner's lease on name. A lease that has meanwhile
// expired and gone to another owner is left alone, so a holder that was too
// slow cannot release its successor's lock.
func (w *WriteTx) ReleaseCertLease(name, owner string) error {
	if cur, ok := w.CertLease(name); ok && cur.Owner == owner {
		return w.tx.Bucket(bucketCerts).Delete(certLockKey(name))
	}
	return nil
}
