package httpui_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"minitwit/store"
)

// TestLoginLimitParallelGuesses: attempts at /login are counted before
// the password is checked, so a burst of parallel guesses gets exactly
// the budget (20 from one address) and no more; the course's texts stay.
func TestLoginLimitParallelGuesses(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	uiSignup(t, base, "guessed")
	const guesses = 30
	codes := make([]int, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Go(func() {
			s := uiClient(t, base)
			p := s.do(t, s.stay, "POST", "/login", uiForm("username", "guessed", "password", "wrong"), nil)
			codes[i] = p.Status
			if p.Status == http.StatusBadRequest {
				uiWantContains(t, p, uiErrBadPass)
			}
		})
	}
	wg.Wait()
	refused := 0
	for _, c := range codes {
		switch c {
		case http.StatusBadRequest:
		case http.StatusServiceUnavailable:
			// Admitted, then no hashing slot within the deadline on a
			// loaded machine: still one of the budget's attempts.
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("a guess answered %d", c)
		}
	}
	if admitted := guesses - refused; admitted != 20 {
		t.Errorf("%d of %d parallel guesses got past the limit, want exactly the budget of 20", admitted, guesses)
	}
}

// TestLoginUnknownCostsAsKnown: an unknown name is answered no faster
// than a known one with a wrong password (both compute one argon2id
// hash). The two kinds of attempt are interleaved, and they must be
// within a factor of 2 by one of two measures: each kind's fastest answer
// (what the work itself costs; a busy machine only ever adds to single
// answers), or the median over the rounds of each round's ratio (a round's
// two answers meet about the same load). Beside a second test suite one
// kind can miss every quiet moment in 10 rounds (fastest unknown 93 ms,
// known 316 ms); an unknown name answered without a hash would still be
// far apart by both measures, every round.
func TestLoginUnknownCostsAsKnown(t *testing.T) {
	t.Parallel()
	_, base := fakeDefault(t)
	uiSignup(t, base, "known")
	s := uiClient(t, base)
	attempt := func(name, want string) time.Duration {
		start := time.Now()
		p := s.do(t, s.stay, "POST", "/login", uiForm("username", name, "password", "wrong"), nil)
		d := time.Since(start)
		uiWantContains(t, p, want)
		return d
	}
	within2x := func(a, b float64) bool { return a <= 2*b && b <= 2*a }
	// 7 rounds, and up to 10 while neither measure is within 2x. More
	// samples only bring each measure closer to the work's cost, so a
	// real difference stays. 10 rounds are 20 failed sign-ins, the budget
	// of one address (auth.UserLoginBudget).
	known, unknown := time.Duration(1<<62), time.Duration(1<<62)
	var ratios []float64
	agree := func() bool {
		sorted := slices.Sorted(slices.Values(ratios))
		median := sorted[len(sorted)/2]
		return within2x(float64(known), float64(unknown)) || within2x(median, 1)
	}
	for round := 0; round < 7 || round < 10 && !agree(); round++ {
		k, u := attempt("known", uiErrBadPass), attempt("nobody-here", uiErrBadUser)
		known, unknown = min(known, k), min(unknown, u)
		ratios = append(ratios, float64(k)/float64(u))
	}
	if !agree() {
		t.Errorf("fastest answer for an unknown name %s, for a known one %s; known/unknown per round %.2f: not within 2x by either measure",
			unknown, known, ratios)
	}
}

// TestUIRegisterLimit: sign-ups through the web form are limited per
// source like the API's open registrations: of 31 sent at once, 30 get
// past the limit and one is answered 429 with Retry-After on the form,
// and creates nothing. (Attack review: one client created 200 accounts in
// 19 s through the form, each an argon2id hash.)
func TestUIRegisterLimit(t *testing.T) {
	t.Parallel()
	n, base := fakeDefault(t)
	const sent = 30 + 1 // the budget: 30 at once
	codes := make([]int, sent)
	var wg sync.WaitGroup
	for i := range sent {
		wg.Go(func() {
			s := uiClient(t, base)
			name := fmt.Sprintf("signup%d", i)
			p := s.do(t, s.stay, "POST", "/register", uiForm("username", name, "email", uiEmail(name),
				"password", uiPassword(name), "password2", uiPassword(name)), nil)
			codes[i] = p.Status
			if p.Status == http.StatusTooManyRequests {
				uiWantContains(t, p, "Too many sign-ups from your address")
				if p.Header.Get("Retry-After") == "" {
					t.Errorf("a limited sign-up has no Retry-After")
				}
			}
		})
	}
	wg.Wait()
	limited := 0
	for i, c := range codes {
		exists := n.Store().View(func(tx *store.ReadTx) error { _, err := tx.UserByName(fmt.Sprintf("signup%d", i)); return err }) == nil
		switch c {
		case http.StatusSeeOther:
			if !exists {
				t.Errorf("sign-up %d answered 303 but the user is missing", i)
			}
		case http.StatusServiceUnavailable:
			// Admitted, then no hashing slot within the deadline on a
			// loaded machine: one of the budget's sign-ups all the same.
		case http.StatusTooManyRequests:
			limited++
			if exists {
				t.Errorf("sign-up %d was limited but created the user", i)
			}
		default:
			t.Errorf("sign-up %d answered %d", i, c)
		}
	}
	if limited != 1 {
		t.Errorf("%d sign-ups at once: %d limited, want 1 (codes %v)", sent, limited, codes)
	}
}
