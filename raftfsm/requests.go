package raftfsm

import "sync"

// recentSize bounds how many request IDs the FSM remembers. A retry comes
// within its request's deadline (seconds); at 5,000 writes/s this covers
// the last 13 s.
const recentSize = 1 << 16

// recentRequests remembers the results of the last tagged requests applied
// here, oldest evicted first. It is memory only and never influences what
// an entry does, so nodes whose records differ (one restarted) still apply
// every entry alike; it only lets a leader answer a retried request
// instead of proposing it again.
type recentRequests struct {
	mu   sync.Mutex
	byID map[RequestID]taggedResult
	ring []RequestID // insertion order, for eviction
	next int
}

// taggedResult is a request's outcome; known is false for an entry that was
// applied before a restart, whose result was not kept.
type taggedResult struct {
	id    RequestID
	res   Result
	known bool
}

func (r *recentRequests) remember(tags []taggedResult) {
	if len(tags) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = make(map[RequestID]taggedResult, recentSize)
		r.ring = make([]RequestID, 0, recentSize)
	}
	for _, t := range tags {
		if _, dup := r.byID[t.id]; dup {
			r.byID[t.id] = t // a request applied twice keeps its last result
			continue
		}
		if len(r.ring) < recentSize {
			r.ring = append(r.ring, t.id)
		} else {
			delete(r.byID, r.ring[r.next])
			r.ring[r.next] = t.id
			r.next = (r.next + 1) % recentSize
		}
		r.byID[t.id] = t
	}
}

// Recent reports whether the request id was applied on this node among the
// last requests it remembers, and its result. resultKnown is false when it
// was applied before this node restarted: it happened, but its result is
// gone.
func (f *FSM) Recent(id RequestID) (res Result, applied, resultKnown bool) {
	f.recent.mu.Lock()
	defer f.recent.mu.Unlock()
	t, ok := f.recent.byID[id]
	return t.res, ok, t.known
}

// appendReplayedTags adds the IDs of the tagged commands in an entry that
// is being skipped as already applied.
func appendReplayedTags(tags []taggedResult, data []byte) []taggedResult {
	cmd, err := Decode(data)
	if err != nil {
		return tags
	}
	entries := [][]byte{data}
	if b, ok := cmd.(*Batch); ok {
		entries = b.Entries
	}
	for _, raw := range entries {
		if sub, err := Decode(raw); err == nil {
			if t, ok := sub.(*Tagged); ok {
				tags = append(tags, taggedResult{id: t.ID})
			}
		}
	}
	return tags
}
