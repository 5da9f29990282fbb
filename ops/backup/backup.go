// Package backup owns MiniTwit's backup file format: a consistent copy of a
// node's data file, compressed, with a header that says what it is and a
// checksum that proves it arrived whole. It knows nothing of bbolt or Raft:
// the caller streams the data file in and gets it back out.
//
// A file is
//
//	"MTWTBKUP"                  8 bytes, magic
//	format version              4 bytes, big endian (this package writes 1)
//	header length               4 bytes, big endian
//	header                      JSON: Header
//	payload                     gzip of the data file
//	"MTWTSUM1" + SHA-256        40 bytes: over everything before it
//
// An encrypted backup is this file encrypted whole with age (encrypt.go);
// Open decrypts it for Read, and Read refuses one given still encrypted
// with ErrEncrypted.
//
// Read refuses a file with another magic, a newer format, a header it
// cannot parse, a payload that is not gzip, a missing or wrong checksum, or
// a payload whose size differs from the header's, each with a clear error
// (wrapping ErrCorrupt or ErrNewerFormat). Because the checksum is at the
// end, Read hands out the data while reading it; a caller writes it to a
// temporary file and keeps it only when Read returns no error.
//
// The header's size also bounds what Read writes: it decompresses at most
// one byte more than the header says, so a crafted file whose few
// compressed bytes expand to gigabytes (a gzip bomb) is refused after
// Size+1 bytes reached dst, not after the disk filled up. That one byte is
// how Read tells "longer than the header" from "exactly as long". A header
// that lies the other way (a size of 100 GB over a 1 MB bomb) is caught
// before anything is written when dst is a file: a size larger than the
// free space of the file's folder is refused (ErrNoRoom), so a restore can
// never fill the disk a running node shares with it.
package backup

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"path/filepath"
	"time"

	"minitwit/ops"
)

// FormatVersion is the newest format this package reads and the one it
// writes.
const FormatVersion = 1

var (
	magic    = [8]byte{'M', 'T', 'W', 'T', 'B', 'K', 'U', 'P'}
	sumMagic = [8]byte{'M', 'T', 'W', 'T', 'S', 'U', 'M', '1'}
)

// Errors of Read.
var (
	ErrCorrupt     = errors.New("not a valid MiniTwit backup")
	ErrNewerFormat = errors.New("backup written by a newer MiniTwit")
	// ErrNoRoom: the data file the header announces is larger than the
	// free space where it would be written.
	ErrNoRoom = errors.New("not enough free disk space for the backup's data file")
)

const maxHeaderBytes = 64 << 10

// Header describes a backup.
type Header struct {
	// Index is the Raft index the state corresponds to.
	Index uint64 `json:"index"`
	// Created is when the backup was taken.
	Created time.Time `json:"created"`
	// Node is the id of the node it was taken on.
	Node string `json:"node"`
	// Size is the data file's size in bytes, uncompressed.
	Size int64 `json:"size"`
	// Format is the file format version (filled by Write and Read).
	Format uint32 `json:"-"`
}

// Write writes a backup of the data that src writes (the whole data file,
// h.Size bytes) to w.
func Write(w io.Writer, h Header, src io.WriterTo) error {
	sum := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 1<<16)
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var fixed [16]byte
	copy(fixed[:8], magic[:])
	binary.BigEndian.PutUint32(fixed[8:], FormatVersion)
	binary.BigEndian.PutUint32(fixed[12:], uint32(len(hdr)))
	bw.Write(fixed[:])
	bw.Write(hdr)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	n, err := src.WriteTo(zw)
	if err != nil {
		return fmt.Errorf("backup: writing the data: %w", err)
	}
	if n != h.Size {
		return fmt.Errorf("backup: the data was %d bytes, the header says %d", n, h.Size)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	trailer := append(sumMagic[:], sum.Sum(nil)...)
	_, err = w.Write(trailer)
	return err
}

// Read checks r as a backup and copies the data file it holds to dst. Any
// error means the backup must not be used, whatever reached dst.
func Read(r io.Reader, dst io.Writer) (Header, error) {
	sum := sha256.New()
	tail := &tailKeeper{r: bufio.NewReaderSize(r, 1<<16), keep: len(sumMagic) + sha256.Size, sum: sum}
	var fixed [16]byte
	if _, err := io.ReadFull(tail, fixed[:]); err != nil {
		if errors.Is(err, ErrCorrupt) { // from Open's decryption
			return Header{}, err
		}
		return Header{}, fmt.Errorf("%w: too short to be one", ErrCorrupt)
	}
	if bytes.HasPrefix(ageMagic, fixed[:]) {
		return Header{}, ErrEncrypted
	}
	if !bytes.Equal(fixed[:8], magic[:]) {
		return Header{}, fmt.Errorf("%w: it does not start with the backup magic", ErrCorrupt)
	}
	h := Header{Format: binary.BigEndian.Uint32(fixed[8:])}
	if h.Format > FormatVersion {
		return Header{}, fmt.Errorf("%w: format %d, this binary reads up to %d; use a newer minitwit", ErrNewerFormat, h.Format, FormatVersion)
	}
	if h.Format == 0 {
		return Header{}, fmt.Errorf("%w: format 0", ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(fixed[12:])
	if n > maxHeaderBytes {
		return Header{}, fmt.Errorf("%w: header of %d bytes", ErrCorrupt, n)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(tail, hdr); err != nil {
		if errors.Is(err, ErrCorrupt) {
			return Header{}, err
		}
		return Header{}, fmt.Errorf("%w: truncated header", ErrCorrupt)
	}
	format := h.Format
	if err := json.Unmarshal(hdr, &h); err != nil {
		return Header{}, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	h.Format = format
	if h.Size < 0 || h.Size == math.MaxInt64 {
		return Header{}, fmt.Errorf("%w: header size %d", ErrCorrupt, h.Size)
	}
	if err := checkRoom(dst, h.Size); err != nil {
		return h, err
	}
	zr, err := gzip.NewReader(tail)
	if errors.Is(err, ErrCorrupt) {
		return Header{}, err
	}
	if err != nil {
		return Header{}, fmt.Errorf("%w: the data is not compressed as expected: %v", ErrCorrupt, err)
	}
	zr.Multistream(false)
	copied, err := io.Copy(dst, io.LimitReader(zr, h.Size+1))
	if err != nil {
		// Damaged compressed data is deflate's CorruptInputError (a bit
		// flipped mid-file), gzip's checksum or header error, or an end
		// met too soon; other errors are the source's or dst's own.
		var damaged flate.CorruptInputError
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
			errors.As(err, &damaged) {
			return h, fmt.Errorf("%w: the data is truncated or damaged: %v", ErrCorrupt, err)
		}
		return h, err
	}
	if copied > h.Size {
		return h, fmt.Errorf("%w: the data expands beyond the %d bytes the header says; stopped there", ErrCorrupt, h.Size)
	}
	if copied != h.Size {
		return h, fmt.Errorf("%w: %d bytes of data, the header says %d", ErrCorrupt, copied, h.Size)
	}
	// Whatever follows the compressed data up to the trailer is hashed too.
	if _, err := io.Copy(io.Discard, tail); err != nil {
		return h, err
	}
	want := tail.kept()
	if len(want) != len(sumMagic)+sha256.Size || !bytes.Equal(want[:8], sumMagic[:]) {
		return h, fmt.Errorf("%w: the checksum at the end is missing (truncated file?)", ErrCorrupt)
	}
	if !bytes.Equal(want[8:], sum.Sum(nil)) {
		return h, fmt.Errorf("%w: checksum mismatch: the file was changed or damaged", ErrCorrupt)
	}
	return h, nil
}

// checkRoom refuses a data file of size bytes when dst is a file on a
// file system with less free space than that. (Found in the attack review:
// a 1 MB crafted backup whose header claimed 1 GiB made restore write
// 1 GiB before the data file was refused; any claimed size could fill the
// disk.) A writer that is not a file, or a file system that cannot say,
// is not checked.
func checkRoom(dst io.Writer, size int64) error {
	f, ok := dst.(interface{ Name() string })
	if !ok {
		return nil
	}
	dir := filepath.Dir(f.Name())
	free, ok := ops.DiskFree(dir)
	if !ok || uint64(size) <= free {
		return nil
	}
	return fmt.Errorf("%w: the header says %d bytes, %s has %d free (free some space or restore elsewhere; a backup file far smaller than that is crafted)",
		ErrNoRoom, size, dir, free)
}

// tailKeeper reads r but holds back the last keep bytes, which are the
// trailer; everything it hands out is hashed into sum.
type tailKeeper struct {
	r    io.Reader
	keep int
	buf  []byte // read from r, not yet handed out; the last keep bytes are the tail candidate
	eof  bool
	sum  hash.Hash
}

func (t *tailKeeper) Read(p []byte) (int, error) {
	for !t.eof && len(t.buf) < t.keep+len(p) {
		chunk := make([]byte, max(len(p), 32<<10))
		n, err := t.r.Read(chunk)
		t.buf = append(t.buf, chunk[:n]...)
		if err == io.EOF {
			t.eof = true
		} else if err != nil {
			return 0, err
		}
	}
	avail := len(t.buf) - t.keep
	if avail <= 0 {
		return 0, io.EOF
	}
	n := copy(p, t.buf[:avail])
	t.sum.Write(p[:n])
	t.buf = t.buf[n:]
	return n, nil
}

// kept is the held-back tail once the reader reached the end.
func (t *tailKeeper) kept() []byte { return t.buf }
