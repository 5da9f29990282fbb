package store

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Searches for the admin pages: users by name prefix, messages by author
// and text. Both are bounded per call like every other query, and page with
// a cursor.

// SearchUsers lists up to limit users whose name starts with prefix and
// sorts strictly after the cursor after, in name (byte) order. To page, pass
// the last name of one page as the next call's after; "" starts at the
// beginning. The
// username index holds names as their exact bytes, so the match is
// case-sensitive ("rog" does not find "Roger"); in return it is one seek,
// and the walk reads at most limit index entries plus the one that ends it.
func (r *ReadTx) SearchUsers(prefix, after string, limit int) ([]User, error) {
	out := []User{}
	if limit <= 0 {
		return out, nil
	}
	start := []byte(prefix)
	// after + "\x00" is the smallest key strictly after after, so the
	// cursor never has to step over after itself.
	if after != "" {
		if next := append([]byte(after), 0); bytes.Compare(next, start) > 0 {
			start = next
		}
	}
	c := r.usernames.Cursor()
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
		u, err := r.UserByID(readU64(v))
		if err != nil {
			return nil, err
		}
		out = append(out, u)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// DefaultSearchScan is how many messages SearchMessages examines in one call
// when MessageSearch.MaxScan is not set.
const DefaultSearchScan = 20000

// MessageSearch asks SearchMessages for one page.
type MessageSearch struct {
	Author  string // exact username; "" searches every author
	Text    string // case-insensitive substring; "" matches every message
	Before  uint64 // only messages older than this id (a cursor); 0 starts at the newest
	Limit   int    // page size
	MaxScan int    // messages examined at most; 0 (or less) means DefaultSearchScan
}

// SearchMessages finds messages newest first, flagged ones included (with
// Flagged set), with their authors joined as the timelines do. With Author
// set it walks only that author's message index (an unknown author is
// ErrUnknownUser); otherwise it walks every message.
//
// Text is matched by a bounded scan, not an index: each call examines at
// most MaxScan messages, and next is the Before with which to carry on when
// the page filled or the scan stopped early, or 0 when nothing older
// exists. So a page may be short, or even empty, and still have a next. A
// full-text index would add writes and space to every post on every
// replica; searching is rare and done by admins, who page on, so a
// predictable cost per call is what matters, not finding everything in one.
func (r *ReadTx) SearchMessages(q MessageSearch) (msgs []Message, next uint64, err error) {
	var src msgSource
	if q.Author != "" {
		u, err := r.UserByName(q.Author)
		if err != nil {
			return nil, 0, err
		}
		src = newUserSource(r.userMsgs.Cursor(), u.ID, q.Before)
	} else {
		src = newPublicSource(r.messages.Cursor(), q.Before)
	}
	msgs = []Message{}
	if q.Limit <= 0 {
		return msgs, 0, nil
	}
	maxScan := q.MaxScan
	if maxScan <= 0 {
		maxScan = DefaultSearchScan
	}
	needle := []byte(strings.ToLower(q.Text))
	var buf []byte
	scanned := 0
	var last uint64
	for {
		id, rec, ok := src.next()
		if !ok {
			return msgs, 0, nil
		}
		// There is an older message: stop here if this call is done, and
		// hand out a cursor just below the last one examined.
		if len(msgs) == q.Limit || scanned == maxScan {
			return msgs, last, nil
		}
		last = id
		scanned++
		if rec == nil {
			if rec = r.messages.Get(u64(id)); rec == nil {
				continue // index entry without a message: never written that way, but never fatal to a read
			}
		}
		m, text, err := decodeMessageHead(id, rec)
		if err != nil {
			return nil, 0, err
		}
		if len(needle) > 0 {
			if buf = lowerInto(buf, text); !bytes.Contains(buf, needle) {
				continue
			}
		}
		m.Text = string(text)
		if err := r.joinAuthor(&m); err != nil {
			return nil, 0, err
		}
		msgs = append(msgs, m)
	}
}

// lowerInto returns text lower-cased as strings.ToLower would, reusing buf
// when text is ASCII (nearly every message), so that a scan of thousands of
// messages does not allocate a copy of each.
func lowerInto(buf, text []byte) []byte {
	buf = buf[:0]
	for _, c := range text {
		if c >= utf8.RuneSelf {
			return bytes.ToLower(text)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}
