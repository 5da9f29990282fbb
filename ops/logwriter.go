package ops

import (
	"io"
	"sync"
	"time"
)

// LogWriter buffers log output and writes it in chunks: one write per
// flush interval (or per 64 KiB) instead of one write system call per log
// line. Under load a node logs a line per request, and unbuffered writes to
// stdout cost about a fifth of its throughput. The write itself happens
// outside the lock that loggers take: a write to a file or a pipe can stall
// for milliseconds while the disk is busy with fsyncs, and requests must not
// wait for it. The price: on kill -9 up to one interval of log lines is
// lost; a normal shutdown (Close) loses none.
type LogWriter struct {
	out io.Writer

	mu  sync.Mutex // guards buf
	buf []byte

	flushMu sync.Mutex // serialises writes to out; guards spare
	spare   []byte

	stop chan struct{}
	done chan struct{}
}

const logBufferLimit = 64 << 10

// NewLogWriter starts a writer that flushes to out every interval.
func NewLogWriter(out io.Writer, interval time.Duration) *LogWriter {
	w := &LogWriter{out: out, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.Flush()
			case <-w.stop:
				w.Flush()
				return
			}
		}
	}()
	return w
}

// Write queues p. When the buffer is full it flushes before returning,
// which is the back-pressure that bounds memory if the output stalls.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= logBufferLimit
	w.mu.Unlock()
	if full {
		return len(p), w.Flush()
	}
	return len(p), nil
}

// Flush writes out what is buffered. It swaps the buffer under the lock
// and writes without it.
func (w *LogWriter) Flush() error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	out := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	w.spare = out[:0]
	if len(out) == 0 {
		return nil
	}
	_, err := w.out.Write(out)
	return err
}

// Close flushes and stops the background flusher.
func (w *LogWriter) Close() error {
	close(w.stop)
	<-w.done
	return nil
}
