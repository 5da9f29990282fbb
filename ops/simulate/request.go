package simulate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// endpoint builds requests against one API base URL.
type endpoint struct {
	base string // no trailing slash
	auth string // the whole Authorization header value
}

func newEndpoint(baseURL, username, password string) (endpoint, error) {
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		// Checked first: url.Parse's complaint about "127.0.0.1:8080" helps no one.
		return endpoint{}, fmt.Errorf("base URL %q must start with http:// or https://", baseURL)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return endpoint{}, fmt.Errorf("base URL %q: %w", baseURL, err)
	}
	if u.Host == "" {
		return endpoint{}, fmt.Errorf("base URL %q: no host", baseURL)
	}
	// Paths and ?latest= are appended to it; a query or fragment in the base
	// would end up in the wrong place.
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(baseURL, "?#") {
		return endpoint{}, fmt.Errorf("base URL %q: must not carry a query or fragment", baseURL)
	}
	cred := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	return endpoint{base: strings.TrimRight(baseURL, "/"), auth: "Basic " + cred}, nil
}

// request returns the request for a, its body already in memory so that
// Content-Length is set, as Python's requests sets it.
func (e endpoint) request(ctx context.Context, a Action) (*http.Request, error) {
	var path string
	var body []byte
	switch a.Command {
	case CmdRegister:
		path = "/register"
		body = pythonJSON("username", a.User, "email", a.Arg, "pwd", a.Password)
	case CmdTweet:
		path = "/msgs/" + url.PathEscape(a.User)
		body = pythonJSON("content", a.Arg)
	case CmdFollow:
		path = "/fllws/" + url.PathEscape(a.User)
		body = pythonJSON("follow", a.Arg)
	case CmdUnfollow:
		path = "/fllws/" + url.PathEscape(a.User)
		body = pythonJSON("unfollow", a.Arg)
	default:
		return nil, fmt.Errorf("action %d: unknown command %q", a.ID, a.Command)
	}
	u := e.base + path + "?latest=" + strconv.Itoa(a.ID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("action %d: %w", a.ID, err)
	}
	req.Header.Set("Authorization", e.auth)
	req.Header.Set("Content-Type", "application/json")
	// What python-requests sends besides; some servers negotiate on Accept.
	req.Header.Set("Accept", "*/*")
	req.Header.Set("User-Agent", "minitwit-simulate")
	// Also set by the transport when keep-alives are off; explicit so that a
	// caller's own Client sends it too, as the course's HEADERS do.
	req.Close = true
	return req, nil
}

// accepted is the course simulator's rule for a good answer.
func accepted(command string, status int) bool {
	return status == http.StatusNoContent ||
		(command == CmdRegister && status == http.StatusBadRequest)
}

// pythonJSON encodes a flat object of string values from key, value pairs,
// byte for byte as Python's json.dumps does with its defaults: keys in the
// given order, ", " and ": " separators, and ensure_ascii, which writes every
// character outside printable ASCII as \uXXXX (a surrogate pair above
// U+FFFF). encoding/json does the quoting; only the escapes it leaves out are
// added afterwards.
func pythonJSON(kv ...string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		writePythonString(&b, kv[i])
		b.WriteString(": ")
		writePythonString(&b, kv[i+1])
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writePythonString(b *bytes.Buffer, s string) {
	var q bytes.Buffer
	enc := json.NewEncoder(&q)
	enc.SetEscapeHTML(false) // Python leaves <, > and & alone
	if err := enc.Encode(s); err != nil {
		// A string always encodes; invalid UTF-8 becomes U+FFFD.
		panic(fmt.Sprintf("simulate: encoding a string: %v", err))
	}
	quoted := bytes.TrimSuffix(q.Bytes(), []byte("\n"))
	for len(quoted) > 0 {
		r, size := utf8.DecodeRune(quoted)
		switch {
		case r < 0x7f:
			b.WriteByte(quoted[0])
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
		quoted = quoted[size:]
	}
}

// drain reads what is left of a response body, bounded because a 204 has
// none and the content of an error answer is not used. Reading it means the
// latency covers the whole answer, as requests reads it before returning.
func drain(body io.Reader) error {
	_, err := io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	return err
}
