package nodetest

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/hashicorp/raft"

	"minitwit/raftfsm"
	"minitwit/store"
)

// SeedSpec sizes a generated data set.
type SeedSpec struct {
	Users, Messages, Follows int
}

// Seed writes a generated data set into dataDir's data file through the
// state machine's ApplyBatch, the same path Raft uses, in batches of
// batchSize commands. The result is a data dir `serve` starts on (it
// bootstraps a new Raft log on top of the data). Users are named "user N";
// generation is deterministic.
func Seed(dataDir string, spec SeedSpec, progress func(done, total int)) error {
	s, err := store.Open(filepath.Join(dataDir, "minitwit.db"), store.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	fsm := raftfsm.New(s)
	rng := rand.New(rand.NewPCG(42, 7))
	total := spec.Users + spec.Messages + spec.Follows
	const batchSize = 2000
	var batch []*raft.Log
	index, done := uint64(0), 0
	flush := func() error {
		for i, res := range fsm.ApplyBatch(batch) {
			if r, ok := res.(raftfsm.Result); ok && r.Err != nil {
				return fmt.Errorf("seed entry %d: %w", batch[i].Index, r.Err)
			}
		}
		done += len(batch)
		batch = batch[:0]
		if progress != nil {
			progress(done, total)
		}
		return nil
	}
	add := func(c raftfsm.Command) error {
		index++
		batch = append(batch, &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: raftfsm.Encode(c)})
		if len(batch) == batchSize {
			return flush()
		}
		return nil
	}
	name := func(i int) string { return fmt.Sprintf("user %d", i) }
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	if err := add(&raftfsm.InitSecrets{SessionKey: key}); err != nil {
		return err
	}
	for i := 0; i < spec.Users; i++ {
		// A fixed hash: seeding must not spend minutes in argon2id.
		if err := add(&raftfsm.Register{Username: name(i), Email: name(i) + "@example.com", PasswordHash: "$seeded$"}); err != nil {
			return err
		}
	}
	// Follows first, then messages, interleaved would change nothing the
	// queries care about: the follow graph is fixed when timelines are read.
	seen := make(map[[2]int]bool, spec.Follows)
	for len(seen) < spec.Follows && spec.Users > 1 {
		a, b := rng.IntN(spec.Users), rng.IntN(spec.Users)
		if a == b || seen[[2]int{a, b}] {
			continue
		}
		seen[[2]int{a, b}] = true
		if err := add(&raftfsm.Follow{Who: name(a), Whom: name(b)}); err != nil {
			return err
		}
	}
	pub := int64(1_600_000_000)
	for i := 0; i < spec.Messages; i++ {
		pub += int64(rng.IntN(3))
		text := fmt.Sprintf("generated message %d with some words to give it a typical length of a tweet ☃", i)
		if err := add(&raftfsm.PostMessage{Author: name(rng.IntN(spec.Users)), Text: text, PubDate: pub}); err != nil {
			return err
		}
	}
	return flush()
}
