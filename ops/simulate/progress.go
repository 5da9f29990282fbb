package simulate

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// IsTerminal tells whether w is a terminal (one that a carriage return
// redraws and a person can answer on), rather than a file, a pipe, a
// buffer or another device such as /dev/null.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressEvery is how often the progress line is redrawn: often enough to
// look alive, rarely enough to cost nothing.
const progressEvery = 100 * time.Millisecond

// rateWindow is how many redraws the current rate is averaged over (one
// second), so that it does not flicker.
const rateWindow = 10

// output serialises everything the run writes: error lines come from many
// workers, and when they share a terminal with the progress line, that line
// is wiped before an error line is printed and comes back on the next redraw.
type output struct {
	mu       sync.Mutex
	errors   io.Writer
	progress io.Writer // nil: no progress line
	shown    int       // width of the progress line on screen, 0 if none
}

func (o *output) errorLine(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.wipe()
	io.WriteString(o.errors, line+"\n")
}

// wipe clears the progress line; o.mu must be held.
func (o *output) wipe() {
	if o.progress != nil && o.shown > 0 {
		io.WriteString(o.progress, "\r"+strings.Repeat(" ", o.shown)+"\r")
		o.shown = 0
	}
}

func (o *output) drawProgress(line string, final bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.progress == nil {
		return
	}
	pad := ""
	if n := o.shown - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	end := ""
	if final {
		end = "\n"
	}
	io.WriteString(o.progress, "\r"+line+pad+end)
	o.shown = len(line)
	if final {
		o.shown = 0
	}
}

// counters are what the progress line reads while workers update them.
type counters struct {
	done   atomic.Int64
	errors atomic.Int64
}

// progressLoop redraws the progress line until stop is closed, then draws it
// a last time and ends it with a newline.
func progressLoop(out *output, c *counters, total int, stop <-chan struct{}) {
	type sample struct {
		at   time.Time
		done int64
	}
	window := []sample{{time.Now(), 0}}
	line := func() string {
		now, done := time.Now(), c.done.Load()
		window = append(window, sample{now, done})
		if len(window) > rateWindow+1 {
			window = window[1:]
		}
		rate := 0.0
		if dt := now.Sub(window[0].at).Seconds(); dt > 0 {
			rate = float64(done-window[0].done) / dt
		}
		pct := 100.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		return fmt.Sprintf("%d/%d  %5.1f%%  errors %d  %.0f req/s", done, total, pct, c.errors.Load(), rate)
	}
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			out.drawProgress(line(), false)
		case <-stop:
			out.drawProgress(line(), true)
			return
		}
	}
}
