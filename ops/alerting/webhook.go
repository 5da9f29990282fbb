package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Webhook formats.
const (
	FormatJSON  = "json"  // the Notice as JSON
	FormatSlack = "slack" // {"text": "..."}: Slack incoming webhooks, Discord's .../slack URLs, Mattermost, Rocket.Chat
)

// Notice is one message to the webhook: an alert fired or resolved. It is
// the JSON format's body.
type Notice struct {
	Status     string    `json:"status"` // "firing" or "resolved"
	Rule       string    `json:"alert"`
	Node       string    `json:"node,omitempty"`
	Severity   string    `json:"severity"`
	Summary    string    `json:"summary"`
	Value      float64   `json:"value"`
	Since      time.Time `json:"started_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Source     string    `json:"source"` // the node that sent it
}

// Text is the notice as one line for a chat.
func (n Notice) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s", strings.ToUpper(n.Status), n.Rule)
	if n.Node != "" {
		fmt.Fprintf(&b, " on %s", n.Node)
	}
	fmt.Fprintf(&b, " (%s): %s. Since %s", n.Severity, n.Summary, n.Since.UTC().Format("2006-01-02 15:04:05 UTC"))
	if !n.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, ", resolved %s", n.ResolvedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	fmt.Fprintf(&b, "; sent by %s.", n.Source)
	return b.String()
}

// Webhook sends notices one at a time, in order, from a bounded queue:
// adding never blocks, a full queue drops its oldest notice, and a
// receiver that fails (network error, 5xx, 408, 429) is retried with
// exponential back-off while later notices wait behind. A receiver that
// refuses a notice (any other 4xx) will refuse it again: it is dropped.
type Webhook struct {
	URL    string
	Format string // FormatJSON or FormatSlack
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// Client sends the requests; nil means one with a 10 s timeout.
	Client *http.Client
	// QueueSize bounds the queue; 0 means 256.
	QueueSize int
	// MinBackoff and MaxBackoff bound the wait between attempts; 0 means
	// 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration
	// Failed counts a failed attempt; Dropped a notice given up on (the
	// queue was full, or the receiver refused it). Either may be nil.
	Failed, Dropped func()
	Log             *slog.Logger

	mu       sync.Mutex
	queue    []queued
	seq      uint64
	wake     chan struct{}
	onResult func(Notice, error) // the Alerter's; nil error: delivered
}

type queued struct {
	seq    uint64
	notice Notice
}

func (w *Webhook) init() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
}

// Enqueue adds a notice without waiting.
func (w *Webhook) Enqueue(n Notice) {
	w.init()
	w.mu.Lock()
	size := w.QueueSize
	if size <= 0 {
		size = 256
	}
	dropped := 0
	for len(w.queue) >= size {
		w.queue = w.queue[1:]
		dropped++
	}
	w.seq++
	w.queue = append(w.queue, queued{w.seq, n})
	w.mu.Unlock()
	for range dropped {
		w.count(w.Dropped)
		w.logger().Warn("alert webhook queue full: the oldest notice was dropped")
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Drop empties the queue (this node stopped evaluating).
func (w *Webhook) Drop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = nil
}

// Len is how many notices wait.
func (w *Webhook) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

func (w *Webhook) head() (queued, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return queued{}, false
	}
	return w.queue[0], true
}

// pop removes the head if it is still the one sent (Drop may have
// emptied the queue meanwhile).
func (w *Webhook) pop(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) > 0 && w.queue[0].seq == seq {
		w.queue = w.queue[1:]
	}
}

// Run sends queued notices until ctx ends.
func (w *Webhook) Run(ctx context.Context) {
	w.init()
	minB, maxB := w.MinBackoff, w.MaxBackoff
	if minB <= 0 {
		minB = time.Second
	}
	if maxB <= 0 {
		maxB = 5 * time.Minute
	}
	backoff := time.Duration(0)
	for {
		q, ok := w.head()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
			continue
		}
		err := w.send(ctx, q.notice)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			backoff = 0
			w.pop(q.seq)
			w.result(q.notice, nil)
			continue
		}
		w.count(w.Failed)
		w.result(q.notice, err)
		if permanent(err) {
			w.pop(q.seq)
			w.count(w.Dropped)
			w.logger().Error("the alert webhook refused a notice; it is dropped", "alert", q.notice.Rule, "status", q.notice.Status, "err", err.Error())
			continue
		}
		backoff = min(max(2*backoff, minB), maxB)
		w.logger().Warn("sending an alert notice failed; retrying", "alert", q.notice.Rule, "status", q.notice.Status,
			"err", err.Error(), "retry_in", backoff.String(), "queued", w.Len())
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (w *Webhook) result(n Notice, err error) {
	if w.onResult != nil {
		w.onResult(n, err)
	}
}

func (w *Webhook) count(f func()) {
	if f != nil {
		f()
	}
}

func (w *Webhook) logger() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

// statusError is a receiver's answer other than 2xx.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("the webhook answered %d %s", e.status, http.StatusText(e.status))
	if e.body != "" {
		msg += ": " + e.body
	}
	return msg
}

// permanent tells a refusal (a 4xx other than 408 and 429) from a failure
// worth retrying.
func permanent(err error) bool {
	se, ok := err.(*statusError)
	return ok && se.status >= 400 && se.status < 500 && se.status != http.StatusRequestTimeout && se.status != http.StatusTooManyRequests
}

// Body is what the webhook receives for n.
func (w *Webhook) Body(n Notice) ([]byte, error) {
	if w.Format == FormatSlack {
		return json.Marshal(map[string]string{"text": n.Text()})
	}
	return json.Marshal(n)
}

func (w *Webhook) send(ctx context.Context, n Notice) error {
	body, err := w.Body(n)
	if err != nil {
		return err
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "minitwit-alerts")
	if w.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.Token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return redactURL(err, w.URL)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &statusError{resp.StatusCode, strings.TrimSpace(string(msg))}
	}
	return nil
}

// redactURL keeps the webhook's URL, which for Slack and Discord is the
// secret itself, out of an error that goes to the log and the admin page.
func redactURL(err error, url string) error {
	msg := err.Error()
	if url != "" && strings.Contains(msg, url) {
		msg = strings.ReplaceAll(msg, url, "the webhook")
	}
	return fmt.Errorf("%s", msg)
}
