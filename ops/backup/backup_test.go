package backup_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

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

func TestWriteChecksTheSize(t *testing.T) {
	t.Parallel()
	err := backup.Write(&bytes.Buffer{}, backup.Header{Size: 10}, bytes.NewReader(make([]byte, 9)))
	if err == nil {
		t.Fatal("a backup whose data is shorter than its header says was written")
	}
}
