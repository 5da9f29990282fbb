package simulate

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func createTemp(t *testing.T) (*os.File, error) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err == nil {
		t.Cleanup(func() { f.Close() })
	}
	return f, err
}

func msList(ns ...int) []time.Duration {
	ds := make([]time.Duration, len(ns))
	for i, n := range ns {
		ds[i] = time.Duration(n) * time.Millisecond
	}
	return ds
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name string
		ds   []time.Duration
		want Latency
	}{
		{"empty", nil, Latency{}},
		{"one", msList(7), Latency{7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond}},
		{"1..10", msList(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Latency{5 * time.Millisecond, 9 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}},
		{"1..100", msList(hundred...), Latency{50 * time.Millisecond, 90 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond}},
		{"outlier", msList(1, 1, 1, 1, 1, 1, 1, 1, 1, 300), Latency{time.Millisecond, time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}},
	}
	for _, tc := range tests {
		// latencyOf sorts; hand it a shuffled copy.
		ds := append([]time.Duration(nil), tc.ds...)
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
		if got := latencyOf(ds); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	results := []result{
		{command: CmdRegister, latency: 2 * time.Millisecond, status: 204},
		{command: CmdRegister, latency: 4 * time.Millisecond, status: 400},
		{command: CmdTweet, latency: 1 * time.Millisecond, status: 204},
		{command: CmdTweet, latency: 3 * time.Millisecond, kind: KindStatus, status: 500},
		{command: CmdTweet, latency: 300 * time.Millisecond, kind: KindTimeout},
		{command: CmdFollow, latency: 5 * time.Millisecond, kind: KindConnection},
	}
	s := summarize(results, 10, 2*time.Second)
	if s.Requests != 6 || s.Errors != 3 || s.Actions != 10 || s.Throughput != 3 {
		t.Errorf("requests %d errors %d actions %d throughput %v", s.Requests, s.Errors, s.Actions, s.Throughput)
	}
	if s.ByKind[KindStatus] != 1 || s.ByKind[KindTimeout] != 1 || s.ByKind[KindConnection] != 1 || s.ByStatus[500] != 1 {
		t.Errorf("by kind %v by status %v", s.ByKind, s.ByStatus)
	}
	if want := (Latency{3 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}); s.Latency != want {
		t.Errorf("latency %+v, want %+v", s.Latency, want)
	}
	tw := s.Commands[CmdTweet]
	if tw.Requests != 3 || tw.Errors != 2 || tw.Latency.P50 != 3*time.Millisecond || tw.Latency.Max != 300*time.Millisecond {
		t.Errorf("tweet %+v", tw)
	}
	if reg := s.Commands[CmdRegister]; reg.Errors != 0 || reg.ByKind != nil {
		t.Errorf("register %+v", reg)
	}

	out := s.String()
	t.Logf("\n%s", out)
	for _, want := range []string{
		"6 of 10 (interrupted) in 2s, 3.0 req/s",
		"3: status 1 (500:1), timeout 1, connection 1",
		"p50 3.0ms  p90 300.0ms  p99 300.0ms  max 300.0ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	lines := strings.Split(out, "\n")
	var cols []int
	for _, l := range lines {
		for _, c := range Commands() {
			if strings.HasPrefix(strings.TrimLeft(l, " "), c+" ") {
				cols = append(cols, strings.Index(l, "ms")) // the p50 column lines up
			}
		}
	}
	if len(cols) != 4 || cols[0] != cols[1] || cols[1] != cols[2] || cols[2] != cols[3] {
		t.Errorf("per-command rows missing or not aligned: %v", cols)
	}
}

func TestOutages(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	ok := func(began, ended int) result { return result{began: ms(began), ended: ms(ended)} }
	bad := func(began, ended int) result { return result{began: ms(began), ended: ms(ended), kind: KindTimeout} }
	results := []result{
		ok(0, 5),
		// A failure ended by the success of a request sent after it.
		bad(100, 400), ok(150, 160),
		// Two failures, the second sent before the first recovered: one
		// outage. It ends with the first answer (480 ms) to a request sent
		// after the last failure, not with an earlier request's answer.
		bad(200, 500), ok(210, 490), bad(250, 550), ok(300, 480), ok(350, 600),
		ok(900, 905), bad(1000, 1005), ok(1006, 1010),
		// A failure with nothing after it.
		bad(2000, 2300),
	}
	got := outages(results)
	want := []Outage{
		{Start: ms(100), Duration: ms(60), Failed: 1, Recovered: true},
		{Start: ms(200), Duration: ms(280), Failed: 2, Recovered: true},
		{Start: ms(1000), Duration: ms(10), Failed: 1, Recovered: true},
		{Start: ms(2000), Duration: ms(300), Failed: 1, Recovered: false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("outages\n%+v\nwant\n%+v", got, want)
	}
	s := Summary{Outages: want}
	if out := s.String(); !strings.Contains(out, "4 (at 2s: 300.0ms, 1 failed, not recovered; at 200ms: 280.0ms, 2 failed; at 100ms: 60.0ms, 1 failed; and 1 shorter)") {
		t.Errorf("summary:\n%s", out)
	}
	if o := outages([]result{ok(0, 1), ok(2, 3)}); o != nil {
		t.Errorf("outages without failures: %+v", o)
	}
}
