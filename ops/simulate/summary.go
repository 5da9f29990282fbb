package simulate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Latency is the distribution of request durations.
type Latency struct {
	P50, P90, P99, Max time.Duration
}

// Stats counts a set of requests.
type Stats struct {
	// Requests is how many requests completed, answered or failed.
	Requests int
	// Errors is how many of them failed; ByKind splits them by kind and
	// ByStatus splits the KindStatus ones by code.
	Errors   int
	ByKind   map[ErrorKind]int
	ByStatus map[int]int
	Latency  Latency
}

// Summary describes a run.
type Summary struct {
	// Stats covers every request of the run.
	Stats
	// Actions is how many actions the run was given (after Options.Limit);
	// Requests falls short of it when the run was cancelled.
	Actions int
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
	// Throughput is completed requests per second of Elapsed.
	Throughput float64
	// Commands holds the same counts per command (register, tweet, ...).
	Commands map[string]Stats
	// Outages are the stretches of the run in which requests failed, in
	// order: one begins when a failed request was sent and lasts until a
	// request sent after it succeeded (or the run ended). A node lost
	// under load shows up as one outage; its Duration is the failover time.
	Outages []Outage
}

// Outage is a stretch of failed requests.
type Outage struct {
	// Start is when its first failed request was sent, from the run's start.
	Start time.Duration
	// Duration runs from Start to the answer of the first successful
	// request sent after the outage's last failed one.
	Duration time.Duration
	// Failed is how many requests failed in it.
	Failed int
	// Recovered is false when no request succeeded after it.
	Recovered bool
}

// Interrupted tells whether the run stopped before every action was sent.
func (s Summary) Interrupted() bool { return s.Requests < s.Actions }

// result is the outcome of one request.
type result struct {
	command string
	latency time.Duration
	kind    ErrorKind // "" when the answer was accepted
	status  int       // the answer's status, 0 when there was none
	// began and ended time the request from the start of the run.
	began, ended time.Duration
}

func summarize(results []result, actions int, elapsed time.Duration) Summary {
	s := Summary{Actions: actions, Elapsed: elapsed, Commands: map[string]Stats{}}
	all := make([]time.Duration, 0, len(results))
	per := map[string][]time.Duration{}
	for _, r := range results {
		all = append(all, r.latency)
		per[r.command] = append(per[r.command], r.latency)
		s.Stats.add(r)
		c := s.Commands[r.command]
		c.add(r)
		s.Commands[r.command] = c
	}
	s.Latency = latencyOf(all)
	for cmd, ds := range per {
		c := s.Commands[cmd]
		c.Latency = latencyOf(ds)
		s.Commands[cmd] = c
	}
	if elapsed > 0 {
		s.Throughput = float64(s.Requests) / elapsed.Seconds()
	}
	s.Outages = outages(results)
	return s
}

// outages groups failed requests into outages: a failed request extends
// the current outage if it was sent before the outage recovered, and an
// outage recovers with the first successful answer to a request sent at or
// after its latest failure.
func outages(results []result) []Outage {
	var failed, ok []result
	for _, r := range results {
		if r.kind == "" {
			ok = append(ok, r)
		} else {
			failed = append(failed, r)
		}
	}
	byStart := func(a, b result) int { return cmp.Compare(a.began, b.began) }
	slices.SortFunc(failed, byStart)
	slices.SortFunc(ok, byStart)
	// firstEnd[i] is the earliest answer among ok[i:].
	firstEnd := make([]time.Duration, len(ok)+1)
	firstEnd[len(ok)] = -1
	for i := len(ok) - 1; i >= 0; i-- {
		firstEnd[i] = ok[i].ended
		if next := firstEnd[i+1]; next >= 0 && next < firstEnd[i] {
			firstEnd[i] = next
		}
	}
	recovery := func(from time.Duration) time.Duration {
		i, _ := slices.BinarySearchFunc(ok, from, func(r result, t time.Duration) int { return cmp.Compare(r.began, t) })
		return firstEnd[i]
	}
	var out []Outage
	var end time.Duration // of the last outage; -1 while it has not recovered
	for _, f := range failed {
		if n := len(out); n > 0 && (end < 0 || f.began <= end) {
			o := &out[n-1]
			o.Failed++
			end = recovery(f.began)
			o.Recovered = end >= 0
			if o.Recovered {
				o.Duration = end - o.Start
			} else {
				o.Duration = max(o.Duration, f.ended-o.Start)
			}
			continue
		}
		end = recovery(f.began)
		o := Outage{Start: f.began, Failed: 1, Recovered: end >= 0}
		if o.Recovered {
			o.Duration = end - f.began
		} else {
			o.Duration = f.ended - f.began
		}
		out = append(out, o)
	}
	return out
}

func (st *Stats) add(r result) {
	st.Requests++
	if r.kind == "" {
		return
	}
	st.Errors++
	if st.ByKind == nil {
		st.ByKind = map[ErrorKind]int{}
	}
	st.ByKind[r.kind]++
	if r.kind == KindStatus {
		if st.ByStatus == nil {
			st.ByStatus = map[int]int{}
		}
		st.ByStatus[r.status]++
	}
}

// latencyOf sorts ds in place and reads the percentiles off it.
func latencyOf(ds []time.Duration) Latency {
	slices.Sort(ds)
	return Latency{
		P50: percentile(ds, 50),
		P90: percentile(ds, 90),
		P99: percentile(ds, 99),
		Max: percentile(ds, 100),
	}
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values at or
// below it. It is always a measured value, never an interpolation. An empty
// set has 0.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// String is the summary as a short aligned block, for people.
func (s Summary) String() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	sent := strconv.Itoa(s.Requests)
	if s.Interrupted() {
		sent += fmt.Sprintf(" of %d (interrupted)", s.Actions)
	}
	fmt.Fprintf(tw, "requests\t%s in %s, %.1f req/s\n", sent, s.Elapsed.Round(time.Millisecond), s.Throughput)
	fmt.Fprintf(tw, "errors\t%s\n", errorLine(s.Stats))
	fmt.Fprintf(tw, "latency\tp50 %s  p90 %s  p99 %s  max %s\n",
		ms(s.Latency.P50), ms(s.Latency.P90), ms(s.Latency.P99), ms(s.Latency.Max))
	if len(s.Outages) > 0 {
		fmt.Fprintf(tw, "outages\t%s\n", outageLine(s.Outages))
	}
	tw.Flush()

	b.WriteByte('\n')
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	// The table is right-aligned for the numbers; the names are padded to
	// one width so that they read left-aligned.
	cmds := Commands()
	for c := range s.Commands {
		if !slices.Contains(cmds, c) {
			cmds = append(cmds, c)
		}
	}
	slices.Sort(cmds[4:])
	width := 0
	for _, c := range cmds {
		width = max(width, len(c))
	}
	fmt.Fprintf(tw, "%-*s\trequests\terrors\tstatus\ttimeout\tconnection\tother\tp50\tp90\tp99\tmax\tcodes\t\n", width, "command")
	for _, c := range cmds {
		st := s.Commands[c]
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", width, c, st.Requests, st.Errors,
			st.ByKind[KindStatus], st.ByKind[KindTimeout], st.ByKind[KindConnection], st.ByKind[KindOther],
			ms(st.Latency.P50), ms(st.Latency.P90), ms(st.Latency.P99), ms(st.Latency.Max), codes(st.ByStatus))
	}
	tw.Flush()
	return b.String()
}

func errorLine(st Stats) string {
	if st.Errors == 0 {
		return "0"
	}
	var parts []string
	for _, k := range Kinds() {
		if n := st.ByKind[k]; n > 0 {
			p := fmt.Sprintf("%s %d", k, n)
			if k == KindStatus {
				p += " (" + codes(st.ByStatus) + ")"
			}
			parts = append(parts, p)
		}
	}
	return fmt.Sprintf("%d: %s", st.Errors, strings.Join(parts, ", "))
}

// outageLine lists outages as "at 3.2s: 412.0ms, 9 failed", the longest
// first when there are many.
func outageLine(os []Outage) string {
	sorted := slices.Clone(os)
	slices.SortStableFunc(sorted, func(a, b Outage) int { return cmp.Compare(b.Duration, a.Duration) })
	var parts []string
	for i, o := range sorted {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d shorter", len(sorted)-3))
			break
		}
		p := fmt.Sprintf("at %s: %s, %d failed", o.Start.Round(100*time.Millisecond), ms(o.Duration), o.Failed)
		if !o.Recovered {
			p += ", not recovered"
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("%d (%s)", len(os), strings.Join(parts, "; "))
}

// codes writes status counts as "404:2 500:1", or "-" for none.
func codes(byStatus map[int]int) string {
	if len(byStatus) == 0 {
		return "-"
	}
	keys := make([]int, 0, len(byStatus))
	for k := range byStatus {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d:%d", k, byStatus[k])
	}
	return strings.Join(parts, " ")
}

// ms prints a latency in milliseconds with one decimal, so columns compare
// at a glance.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
