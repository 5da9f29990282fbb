package store_test

import (
	"io"
	"strings"
)

func ioPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

func bytesReader(s string) io.Reader { return strings.NewReader(s) }
