package simulate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// ErrorKind says why a request failed.
type ErrorKind string

// The kinds of failure; see the package doc.
const (
	KindStatus     ErrorKind = "status"
	KindTimeout    ErrorKind = "timeout"
	KindConnection ErrorKind = "connection"
	KindOther      ErrorKind = "other"
)

// Kinds lists the kinds in the order summaries print them.
func Kinds() []ErrorKind {
	return []ErrorKind{KindStatus, KindTimeout, KindConnection, KindOther}
}

// classify names a transport error: its kind for the summary and the name
// the course's error line gives it. connected tells whether the TCP
// connection had been established, which decides what a timeout is called.
func classify(err error, connected bool) (ErrorKind, string) {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		if connected {
			return KindTimeout, "ReadTimeout"
		}
		return KindTimeout, "ConnectionError"
	}
	if isConnectionError(err) {
		return KindConnection, "ConnectionError"
	}
	return KindOther, "RequestException"
}

func isConnectionError(err error) bool {
	// Any socket-level failure (dial, read, write) arrives as a *net.OpError;
	// refused and reset are the common ones.
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	// The server closed the connection without (finishing) an answer;
	// requests says RemoteDisconnected, a ConnectionError.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	// requests' SSLError is a ConnectionError as well.
	var recErr tls.RecordHeaderError
	var alertErr tls.AlertError
	var verifyErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr x509.CertificateInvalidError
	return errors.As(err, &recErr) || errors.As(err, &alertErr) || errors.As(err, &verifyErr) ||
		errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &certErr)
}
