package backup_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"minitwit/ops"
	"minitwit/ops/backup"
)

func sample(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	h := backup.Header{Index: 42, Created: time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC), Node: "node1", Size: int64(len(data))}
	if err := backup.Write(&buf, h, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func payload() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(r.IntN(16)) // compressible, not trivially
	}
	return data
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	data := payload()
	file := sample(t, data)
	var out bytes.Buffer
	h, err := backup.Read(bytes.NewReader(file), &out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) || h.Index != 42 || h.Node != "node1" || h.Size != int64(len(data)) || h.Format != 1 ||
		!h.Created.Equal(time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)) {
		t.Fatalf("read back %d bytes, header %+v", out.Len(), h)
	}
	if len(file) >= len(data) {
		t.Errorf("%d bytes of backup for %d of data: not compressed", len(file), len(data))
	}
}

func TestDamagedFilesAreRefused(t *testing.T) {
	t.Parallel()
	file := sample(t, payload())
	newer := bytes.Clone(file)
	newer[11] = 2 // format version 2
	flipped := func(at int) []byte { f := bytes.Clone(file); f[at] ^= 0x40; return f }
	cases := map[string]struct {
		data []byte
		want error
	}{
		"empty":                   {nil, backup.ErrCorrupt},
		"not a backup":            {[]byte("SQLite format 3\x00 and more bytes than sixteen"), backup.ErrCorrupt},
		"newer format":            {newer, backup.ErrNewerFormat},
		"truncated header":        {file[:20], backup.ErrCorrupt},
		"truncated data":          {file[:len(file)/2], backup.ErrCorrupt},
		"no checksum":             {file[:len(file)-40], backup.ErrCorrupt},
		"half a checksum":         {file[:len(file)-20], backup.ErrCorrupt},
		"flipped byte in data":    {flipped(len(file) / 2), backup.ErrCorrupt},
		"flipped byte in header":  {flipped(20), backup.ErrCorrupt},
		"flipped byte in the sum": {flipped(len(file) - 1), backup.ErrCorrupt},
		"extra bytes at the end":  {append(bytes.Clone(file), 0), backup.ErrCorrupt},
	}
	for name, c := range cases {
		_, err := backup.Read(bytes.NewReader(c.data), &bytes.Buffer{})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// TestEveryFlippedBitIsCorrupt: a bit flipped anywhere in the file is
// ErrCorrupt (or, in the version field, ErrNewerFormat), never another
// error: deflate's own errors for damaged compressed data
// (flate.CorruptInputError) included. One bit flipped mid-file in a
// cluster restore test came back as a bare "flate: corrupt input".
func TestEveryFlippedBitIsCorrupt(t *testing.T) {
	t.Parallel()
	file := sample(t, payload()[:20_000]) // small: every read below decompresses it
	step := max(1, len(file)/400)
	for at := 0; at < len(file); at += step {
		for _, bit := range []byte{0x01, 0x80} {
			f := bytes.Clone(file)
			f[at] ^= bit
			_, err := backup.Read(bytes.NewReader(f), &bytes.Buffer{})
			if !errors.Is(err, backup.ErrCorrupt) && !errors.Is(err, backup.ErrNewerFormat) {
				t.Fatalf("bit %#x flipped at byte %d of %d: %v, want ErrCorrupt", bit, at, len(file), err)
			}
		}
	}
}

func TestWriteChecksTheSize(t *testing.T) {
	t.Parallel()
	err := backup.Write(&bytes.Buffer{}, backup.Header{Size: 10}, bytes.NewReader(make([]byte, 9)))
	if err == nil {
		t.Fatal("a backup whose data is shorter than its header says was written")
	}
}

// bomb is a backup whose header claims claimed bytes but whose gzip stream
// expands to expands zero bytes, with a correct checksum: only the size
// gives it away.
func bomb(t *testing.T, claimed, expands int64) []byte {
	t.Helper()
	var file bytes.Buffer
	hdr, _ := json.Marshal(backup.Header{Index: 1, Node: "node1", Size: claimed})
	file.WriteString("MTWTBKUP")
	binary.Write(&file, binary.BigEndian, uint32(1))
	binary.Write(&file, binary.BigEndian, uint32(len(hdr)))
	file.Write(hdr)
	// The fastest level still packs 64 MiB of zeros into some 80 KB, and
	// takes a fifth of the best level's time under the race detector.
	zw, _ := gzip.NewWriterLevel(&file, gzip.BestSpeed)
	zeros := make([]byte, 1<<20)
	for left := expands; left > 0; left -= int64(len(zeros)) {
		zw.Write(zeros[:min(left, int64(len(zeros)))])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(file.Bytes())
	file.WriteString("MTWTSUM1")
	file.Write(sum[:])
	return file.Bytes()
}

// counter counts what is written to it and keeps nothing.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestGzipBombStopsAtTheHeaderSize: a backup whose 4 KiB header size hides
// 64 MiB of data is refused after at most the header's size plus one byte
// reached the destination.
func TestGzipBombStopsAtTheHeaderSize(t *testing.T) {
	t.Parallel()
	const claimed = 4096
	file := bomb(t, claimed, 64<<20)
	if len(file) > 1<<20 {
		t.Fatalf("the bomb is %d bytes: not a bomb", len(file))
	}
	var out counter
	_, err := backup.Read(bytes.NewReader(file), &out)
	if !errors.Is(err, backup.ErrCorrupt) || !strings.Contains(err.Error(), "expands beyond") {
		t.Fatalf("bomb read: %v", err)
	}
	if out.n > claimed+1 {
		t.Fatalf("%d bytes written for a header of %d", out.n, claimed)
	}
	// The same crafting with an honest size reads fine: the size alone
	// refused the bomb.
	var honest counter
	if _, err := backup.Read(bytes.NewReader(bomb(t, 1<<20, 1<<20)), &honest); err != nil || honest.n != 1<<20 {
		t.Fatalf("honest crafted file: %v, %d bytes", err, honest.n)
	}
}

func TestNegativeSizeIsRefused(t *testing.T) {
	t.Parallel()
	if _, err := backup.Read(bytes.NewReader(bomb(t, -1, 10)), &counter{}); !errors.Is(err, backup.ErrCorrupt) {
		t.Fatalf("negative size: %v", err)
	}
}

// TestLyingHeaderCannotFillTheDisk: a crafted backup whose header claims
// more than the free space of the folder it is restored into is refused
// before anything is written (a gzip bomb that stops at the header's size
// would otherwise fill the disk up to that size); an honest one of the
// same crafting reads into a file as before.
func TestLyingHeaderCannotFillTheDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	free, ok := ops.DiskFree(dir)
	if !ok {
		t.Skip("this file system does not report its free space")
	}
	f, err := os.Create(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = backup.Read(bytes.NewReader(bomb(t, int64(free)+1<<30, 1<<20)), f)
	if !errors.Is(err, backup.ErrNoRoom) {
		t.Fatalf("a header claiming more than the %d bytes free: %v, want ErrNoRoom", free, err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != 0 {
		t.Fatalf("the refused backup wrote to the file: %v, %v", st.Size(), err)
	}
	g, err := os.Create(filepath.Join(dir, "honest"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := backup.Read(bytes.NewReader(bomb(t, 1<<20, 1<<20)), g); err != nil {
		t.Fatalf("an honest backup into a file: %v", err)
	}
}
