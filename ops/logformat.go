package ops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"
)

// The values of log.format.
const (
	LogFormatAuto = "auto" // text on a terminal, JSON otherwise
	LogFormatJSON = "json"
	LogFormatText = "text"
)

// ResolveLogFormat turns log.format into json or text: auto is text when
// w is a terminal (someone reading) and JSON otherwise (a file, journald,
// a log shipper). An unknown value is JSON, what machines read.
func ResolveLogFormat(format string, w io.Writer) string {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case LogFormatText:
		return LogFormatText
	case LogFormatAuto, "":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return LogFormatText
		}
	}
	return LogFormatJSON
}

// ConsoleWriter returns what the node's logger should write to for w in
// format (after ResolveLogFormat): w itself for JSON, otherwise a writer
// that rewrites each JSON line as a text line.
//
// Choice: the node formats every line once, as JSON, for the log ring
// (the admin page filters it), the log file and stdout alike; text is made
// from that JSON on the way to the terminal. Behind the LogWriter this
// happens in the flusher goroutine, off the request path, and the text
// shows exactly the fields the JSON has.
func ConsoleWriter(w io.Writer, format string) io.Writer {
	if format == LogFormatText {
		return &textWriter{out: w}
	}
	return w
}

// textWriter turns JSON lines into text lines such as
//
//	17:04:05.123 INFO  request node=n1 req_id=ab-1 method=GET route="GET /{username}" path=/alice status=200
//
// Input that is not a JSON object passes through unchanged. It keeps an
// incomplete last line until the rest arrives.
type textWriter struct {
	out     io.Writer
	partial []byte
	buf     bytes.Buffer
}

func (t *textWriter) Write(p []byte) (int, error) {
	t.buf.Reset()
	data := p
	if len(t.partial) > 0 {
		data = append(t.partial, p...)
		t.partial = nil
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			t.partial = append([]byte(nil), data...)
			break
		}
		appendText(&t.buf, data[:i])
		data = data[i+1:]
	}
	if t.buf.Len() == 0 {
		return len(p), nil
	}
	_, err := t.out.Write(t.buf.Bytes())
	return len(p), err
}

// appendText writes one JSON log line as text (and a newline) to b.
func appendText(b *bytes.Buffer, line []byte) {
	var head struct {
		Time  string `json:"time"`
		Level string `json:"level"`
		Msg   string `json:"msg"`
	}
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &head) != nil {
		b.Write(line)
		b.WriteByte('\n')
		return
	}
	if ts, err := time.Parse(time.RFC3339Nano, head.Time); err == nil {
		b.WriteString(ts.Format("15:04:05.000"))
		b.WriteByte(' ')
	}
	fmt.Fprintf(b, "%-5s %s", head.Level, head.Msg)
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	appendFields(b, dec, "")
	b.WriteByte('\n')
}

// appendFields writes the object's fields after the opening brace that
// dec is at, in their order, as key=value; a group's fields get the
// group's name and a dot before theirs.
func appendFields(b *bytes.Buffer, dec *json.Decoder, prefix string) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return
		}
		if prefix == "" && (key == "time" || key == "level" || key == "msg") {
			continue
		}
		if len(raw) > 0 && raw[0] == '{' {
			sub := json.NewDecoder(bytes.NewReader(raw))
			sub.UseNumber()
			appendFields(b, sub, prefix+key+".")
			continue
		}
		b.WriteByte(' ')
		b.WriteString(prefix + key)
		b.WriteByte('=')
		var s string
		if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			if s == "" || strings.ContainsAny(s, " \"=\\") || strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
				s = strconv.Quote(s)
			}
			b.WriteString(s)
			continue
		}
		b.Write(raw)
	}
	_, _ = dec.Token() // the closing brace; every field is already written
}
