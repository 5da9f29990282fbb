package backup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"
)

// Encrypted backups. An encrypted backup is an ordinary backup file (the
// format above, checksum included) encrypted whole with age
// (filippo.io/age, https://age-encryption.org/v1): X25519 (or age's
// post-quantum hybrid) key agreement and ChaCha20-Poly1305 in 64 KiB
// chunks, each authenticated, the last one marked so that a file cut short
// is noticed. Nothing here is our own cryptography: this file only loads
// the key and puts age's reader and writer around the format.
//
// The key is an age identity file (what `minitwit backup keygen` or
// age-keygen writes); the recipient it encrypts to is derived from it, so
// there is one file to keep and nothing to keep in sync. Whoever holds the
// file can read every backup made with it; whoever lacks it can read none.

// ErrEncrypted means the backup is encrypted and no key was given.
var ErrEncrypted = errors.New("the backup is encrypted: give its key (--key-file, or backup.encryption_key_file in the configuration)")

// ErrWrongKey means the key given does not open the backup.
var ErrWrongKey = errors.New("the key does not open this backup: it was encrypted to another key, or its header was changed")

// ageMagic starts every age file (the binary format; we never armor).
var ageMagic = []byte("age-encryption.org/v1\n")

// Key is a backup encryption key: an age identity and the recipient
// derived from it.
type Key struct {
	Path      string // where it was read from (messages only)
	identity  age.Identity
	recipient age.Recipient
}

// Recipient is the public half (age1...), safe to show and to share.
func (k *Key) Recipient() string { return fmt.Sprint(k.recipient) }

// LoadKey reads an age identity file: comment lines and one identity
// (AGE-SECRET-KEY-1... or AGE-SECRET-KEY-PQ-1...). The error never quotes
// the file's content.
func LoadKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("backup encryption key: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("backup encryption key %s: not an age identity file (make one with `minitwit backup keygen FILE`): %v", path, err)
	}
	if len(ids) != 1 {
		return nil, fmt.Errorf("backup encryption key %s: holds %d identities; keep one per file", path, len(ids))
	}
	k := &Key{Path: path, identity: ids[0]}
	switch id := ids[0].(type) {
	case *age.X25519Identity:
		k.recipient = id.Recipient()
	case *age.HybridIdentity:
		k.recipient = id.Recipient()
	default:
		return nil, fmt.Errorf("backup encryption key %s: an identity of a type MiniTwit does not know", path)
	}
	return k, nil
}

// GenerateKeyFile writes a new X25519 identity to path, readable by its
// owner only, in age-keygen's format. It refuses to overwrite a file: an
// overwritten key makes every backup made with it unreadable.
func GenerateKeyFile(path string) (*Key, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(f, "# MiniTwit backup encryption key (age identity), created %s\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return &Key{Path: path, identity: id, recipient: id.Recipient()}, nil
}

// Encrypt returns a writer that encrypts to k what is written to it and
// writes the result to w. Close it to write the last chunk (it does not
// close w).
func Encrypt(w io.Writer, k *Key) (io.WriteCloser, error) {
	return age.Encrypt(w, k.recipient)
}

// WriteEncrypted is Write, encrypted to k when k is not nil.
func WriteEncrypted(w io.Writer, k *Key, h Header, src io.WriterTo) error {
	if k == nil {
		return Write(w, h, src)
	}
	ew, err := Encrypt(w, k)
	if err != nil {
		return err
	}
	if err := Write(ew, h, src); err != nil {
		return err
	}
	return ew.Close()
}

// IsEncrypted reports whether the stream that br reads starts as an age
// file. It only peeks.
func IsEncrypted(br *bufio.Reader) bool {
	b, _ := br.Peek(len(ageMagic))
	return bytes.Equal(b, ageMagic)
}

// Open returns the backup file that r holds, decrypted with k if it is
// encrypted: what Read takes. A plain backup passes through (k or not);
// an encrypted one needs k (ErrEncrypted) and the right k (ErrWrongKey).
// A change anywhere in the encrypted data makes the returned reader fail
// with ErrCorrupt where it is met, so Read never accepts it.
func Open(r io.Reader, k *Key) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if !IsEncrypted(br) {
		return br, nil
	}
	if k == nil {
		return nil, ErrEncrypted
	}
	pr, err := age.Decrypt(br, k.identity)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch):
		return nil, fmt.Errorf("%w (%s)", ErrWrongKey, k.Path)
	case err != nil:
		return nil, fmt.Errorf("%w: the encrypted backup was changed or damaged: %v", ErrCorrupt, err)
	}
	return authReader{pr}, nil
}

// authReader marks age's failures (a chunk that fails authentication, a
// file cut short) as ErrCorrupt.
type authReader struct{ r io.Reader }

func (a authReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		msg := err.Error()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			msg = "cut short"
		}
		err = fmt.Errorf("%w: the encrypted backup was changed or damaged (%s)", ErrCorrupt, strings.TrimSuffix(msg, ", file may be corrupted or tampered with"))
	}
	return n, err
}
