// Package httpstatus owns the one response wrapper that remembers what a
// handler answered: the status of its first WriteHeader (or 200 once it
// writes a body without one) and the body bytes it wrote. The public
// listener's middleware (httpui) logs and counts them; the internode
// port's audit (node/cluster) records an operator action only when it was
// answered 200.
//
// It lives in ops, the room with no MiniTwit imports, and imports only the
// standard library, so both sides of the node may use it without either
// knowing the other.
package httpstatus

import "net/http"

// Writer wraps an http.ResponseWriter and remembers the answer. Status is 0
// while nothing was written; callers may overwrite it after the handler
// returned (httpui marks a request whose client went away).
type Writer struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

// WriteHeader remembers the first status: later calls are the handler's
// mistake, which net/http reports and ignores.
func (w *Writer) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the body bytes; a body without a header is a 200.
func (w *Writer) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines of a streamed backup or log tail).
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
