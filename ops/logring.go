package ops

import (
	"bytes"
	"sync"
)

// LogRing keeps the most recent log lines in memory, for the admin page's
// log view and live tail, so that looking at logs needs neither a file nor
// a log stack. It is bounded by lines and by bytes; the oldest lines go
// first. Subscribers get every new line as it arrives; one that does not
// keep up misses lines rather than slowing the loggers down.
type LogRing struct {
	mu       sync.Mutex
	lines    []string // ring storage
	start    int      // index of the oldest line
	n        int      // lines held
	bytes    int      // their total size
	maxBytes int
	partial  []byte // a line not yet ended by '\n'
	subs     map[chan string]struct{}
	dropped  uint64 // lines subscribers missed
}

// NewLogRing keeps at most maxLines lines and maxBytes bytes.
func NewLogRing(maxLines, maxBytes int) *LogRing {
	return &LogRing{lines: make([]string, maxLines), maxBytes: maxBytes, subs: map[chan string]struct{}{}}
}

// Write adds the complete lines in p (a trailing partial line waits for
// its end). It never fails.
func (r *LogRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data := p
	if len(r.partial) > 0 {
		data = append(r.partial, p...)
		r.partial = nil
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if len(data) > 0 {
				r.partial = bytes.Clone(data)
			}
			return len(p), nil
		}
		r.add(string(data[:i]))
		data = data[i+1:]
	}
}

func (r *LogRing) add(line string) {
	if len(line) > r.maxBytes {
		line = line[:r.maxBytes]
	}
	for r.n > 0 && (r.n == len(r.lines) || r.bytes+len(line) > r.maxBytes) {
		r.bytes -= len(r.lines[r.start])
		r.lines[r.start] = ""
		r.start = (r.start + 1) % len(r.lines)
		r.n--
	}
	r.lines[(r.start+r.n)%len(r.lines)] = line
	r.n++
	r.bytes += len(line)
	for ch := range r.subs {
		select {
		case ch <- line:
		default:
			r.dropped++
		}
	}
}

// Lines returns up to max of the newest lines, oldest first (all when max
// is 0 or larger than what is held).
func (r *LogRing) Lines(max int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if max <= 0 || max > r.n {
		max = r.n
	}
	out := make([]string, 0, max)
	for i := r.n - max; i < r.n; i++ {
		out = append(out, r.lines[(r.start+i)%len(r.lines)])
	}
	return out
}

// Subscribe returns a channel that receives every line written from now
// on, and a function that ends the subscription.
func (r *LogRing) Subscribe(buffer int) (<-chan string, func()) {
	ch := make(chan string, buffer)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.subs, ch)
			r.mu.Unlock()
		})
	}
}

// Dropped counts the lines subscribers missed because they were slow.
func (r *LogRing) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}
