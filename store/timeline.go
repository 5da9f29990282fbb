package store

import (
	"container/heap"
	"encoding/binary"
	"math"

	bolt "go.etcd.io/bbolt"
)

// MaxFlaggedSkip bounds how many flagged messages one page may step over.
// When a page hits the bound it ends early and its Next cursor lets the
// reader continue, so a run of moderated messages can never make a page
// expensive.
const MaxFlaggedSkip = 1000

// Page asks for one page of a timeline: up to Limit messages older than the
// message id Before (0 means start at the newest).
type Page struct {
	Before uint64
	Limit  int
}

// TimelinePage is one page, newest first. Next is the Before to ask for the
// following page, or 0 when there is nothing older.
type TimelinePage struct {
	Messages []Message
	Next     uint64
}

// msgSource yields message ids in descending order.
type msgSource interface {
	// next returns the next id and, when the source walks the messages
	// bucket itself, the record; ok is false at the end.
	next() (id uint64, rec []byte, ok bool)
}

// collect fills one page from src: joins authors, skips flagged messages
// (boundedly) and peeks one id further to know whether a next page exists.
func (r *ReadTx) collect(p Page, src msgSource) (TimelinePage, error) {
	page := TimelinePage{Messages: []Message{}}
	if p.Limit <= 0 {
		return page, nil
	}
	skipped := 0
	var last uint64
	for {
		id, rec, ok := src.next()
		if !ok {
			return page, nil
		}
		if len(page.Messages) == p.Limit || skipped > MaxFlaggedSkip {
			page.Next = last
			return page, nil
		}
		last = id
		if rec == nil {
			if rec = r.messages.Get(u64(id)); rec == nil {
				continue // index entry without a message: never written that way, but never fatal to a read
			}
		}
		m, text, err := decodeMessageHead(id, rec)
		if err != nil {
			return TimelinePage{}, err
		}
		if m.Flagged {
			skipped++
			continue
		}
		m.Text = string(text)
		if err := r.joinAuthor(&m); err != nil {
			return TimelinePage{}, err
		}
		page.Messages = append(page.Messages, m)
	}
}

// PublicTimeline is every unflagged message, newest first.
func (r *ReadTx) PublicTimeline(p Page) (TimelinePage, error) {
	return r.collect(p, newPublicSource(r.messages.Cursor(), p.Before))
}

// UserTimeline is one user's unflagged messages, newest first.
func (r *ReadTx) UserTimeline(uid uint64, p Page) (TimelinePage, error) {
	return r.collect(p, newUserSource(r.userMsgs.Cursor(), uid, p.Before))
}

// HomeTimeline ("my timeline") merges the user's own messages with those of
// everyone they follow, newest first. It opens one index cursor per followed
// user and pops from a heap, so a page costs O(follows + page × log follows)
// whatever the number of messages.
func (r *ReadTx) HomeTimeline(uid uint64, p Page) (TimelinePage, error) {
	if p.Limit <= 0 {
		return TimelinePage{Messages: []Message{}}, nil
	}
	m := &mergeSource{}
	add := func(id uint64) {
		s := newUserSource(r.userMsgs.Cursor(), id, p.Before)
		if id, _, ok := s.next(); ok {
			m.heads = append(m.heads, mergeHead{id: id, src: s})
		}
	}
	add(uid)
	prefix := u64(uid)
	c := r.following.Cursor()
	for k, _ := c.Seek(prefix); k != nil && string(k[:8]) == string(prefix); k, _ = c.Next() {
		add(binary.BigEndian.Uint64(k[8:]))
	}
	heap.Init(m)
	return r.collect(p, m)
}

// publicSource walks the messages bucket backwards.
type publicSource struct {
	c       *bolt.Cursor
	k, v    []byte
	started bool
	before  uint64
}

func newPublicSource(c *bolt.Cursor, before uint64) *publicSource {
	return &publicSource{c: c, before: before}
}

func (s *publicSource) next() (uint64, []byte, bool) {
	if !s.started {
		s.started = true
		if s.before == 0 {
			s.k, s.v = s.c.Last()
		} else if k, _ := s.c.Seek(u64(s.before)); k == nil {
			s.k, s.v = s.c.Last()
		} else {
			s.k, s.v = s.c.Prev()
		}
	} else {
		s.k, s.v = s.c.Prev()
	}
	if s.k == nil {
		return 0, nil, false
	}
	return readU64(s.k), s.v, true
}

// userSource walks one user's message index backwards.
type userSource struct {
	c       *bolt.Cursor
	uid     uint64
	before  uint64
	started bool
}

func newUserSource(c *bolt.Cursor, uid, before uint64) *userSource {
	return &userSource{c: c, uid: uid, before: before}
}

func (s *userSource) next() (uint64, []byte, bool) {
	var k []byte
	if !s.started {
		s.started = true
		// The newest key below (uid, before): seek to the first key at or
		// after it and step back once.
		target := pair(s.uid, s.before)
		if s.before == 0 {
			if s.uid == math.MaxUint64 {
				k, _ = s.c.Last()
			} else {
				target = pair(s.uid+1, 0)
			}
		}
		if k == nil {
			if sk, _ := s.c.Seek(target); sk == nil {
				k, _ = s.c.Last()
			} else {
				k, _ = s.c.Prev()
			}
		}
	} else {
		k, _ = s.c.Prev()
	}
	if len(k) != 16 || binary.BigEndian.Uint64(k[:8]) != s.uid {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(k[8:]), nil, true
}

// mergeSource is a max-heap of user sources keyed by their current id.
type mergeHead struct {
	id  uint64
	src *userSource
}

type mergeSource struct{ heads []mergeHead }

func (m *mergeSource) Len() int           { return len(m.heads) }
func (m *mergeSource) Less(i, j int) bool { return m.heads[i].id > m.heads[j].id }
func (m *mergeSource) Swap(i, j int)      { m.heads[i], m.heads[j] = m.heads[j], m.heads[i] }
func (m *mergeSource) Push(x any)         { m.heads = append(m.heads, x.(mergeHead)) }
func (m *mergeSource) Pop() any {
	h := m.heads[len(m.heads)-1]
	m.heads = m.heads[:len(m.heads)-1]
	return h
}

func (m *mergeSource) next() (uint64, []byte, bool) {
	if len(m.heads) == 0 {
		return 0, nil, false
	}
	top := &m.heads[0]
	id := top.id
	if nid, _, ok := top.src.next(); ok {
		top.id = nid
		heap.Fix(m, 0)
	} else {
		heap.Pop(m)
	}
	return id, nil, true
}
