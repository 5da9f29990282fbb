package ops

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

var chartT0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// chartTimes returns n times step apart from chartT0.
func chartTimes(n int, step time.Duration) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = chartT0.Add(time.Duration(i) * step)
	}
	return ts
}

// chartRamp returns n values rising evenly from 0 to top.
func chartRamp(n int, top float64) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = top * float64(i) / float64(n-1)
	}
	return vs
}

// chartParse checks that svg is well-formed XML with an <svg> root and
// returns the root's attributes.
func chartParse(t *testing.T, svg string) map[string]string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	attrs := map[string]string{}
	for first := true; ; first = false {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		if first {
			start, ok := tok.(xml.StartElement)
			if !ok || start.Name.Local != "svg" {
				t.Fatalf("root %#v, want <svg>", tok)
			}
			for _, a := range start.Attr {
				attrs[a.Name.Local] = a.Value
			}
		}
	}
	return attrs
}

var chartLine = regexp.MustCompile(`class="chart-line chart-line-\d+" d="([^"]*)"`)

// chartStretches returns, per series path, how many stretches (M
// commands) it draws.
func chartStretches(svg string) []int {
	var out []int
	for _, m := range chartLine.FindAllStringSubmatch(svg, -1) {
		out = append(out, strings.Count(m[1], "M"))
	}
	return out
}

func TestChartSVG(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	for _, tc := range []struct {
		name       string
		c          Chart
		points     string // data-points
		stretches  []int  // M commands per drawn series
		want, lack []string
	}{
		{
			name: "an hour of request rate",
			c: Chart{Title: "Requests", Unit: "req/s", Times: chartTimes(361, 10*time.Second),
				Series: []ChartSeries{{Name: "all", Values: chartRamp(361, 12)}}, Gap: 30 * time.Second},
			points:    "361",
			stretches: []int{1},
			want: []string{`role="img"`, `aria-label="Requests (req/s)"`, `<title>Requests (req/s)</title>`,
				">0 req/s<", ">5 req/s<", ">15 req/s<", // ticks of 5 from 0
				">12:00<", ">12:15<", ">12:45<", ">13:00<", ">UTC<"},
			lack: []string{"no data yet", ">20 req/s<", ">12:10<", "Mar 1"},
		},
		{
			name: "fractional milliseconds and a legend",
			c: Chart{Title: "Latency", Unit: "ms", Times: chartTimes(3, time.Minute), Series: []ChartSeries{
				{Name: "p50", Values: []float64{0.2, 0.4, 0.3}},
				{Name: "p99", Values: []float64{1.2, 1.4, 1.3}},
			}},
			points:    "3",
			stretches: []int{1, 1},
			want:      []string{">0 ms<", ">0.5 ms<", ">1.5 ms<", ">p50<", ">p99<", "chart-line-1"},
		},
		{
			name: "big values in thousands",
			c: Chart{Title: "Memory", Unit: "MiB", Times: chartTimes(2, time.Minute),
				Series: []ChartSeries{{Values: []float64{9000, 12000}}}},
			points: "2", stretches: []int{1},
			want: []string{">0 MiB<", ">5k MiB<", ">15k MiB<"},
			lack: []string{"12000"},
		},
		{
			name: "a gap breaks the line",
			c: Chart{Title: "Writes", Unit: "writes/s", Gap: 30 * time.Second,
				Times:  append(chartTimes(3, 10*time.Second), chartT0.Add(5*time.Minute), chartT0.Add(5*time.Minute+10*time.Second)),
				Series: []ChartSeries{{Values: []float64{1, 2, 3, 4, 5}}}},
			points: "5", stretches: []int{2},
		},
		{
			name: "a hole breaks the line, a lone point is a dot",
			c: Chart{Title: "Lag", Unit: "entries", Times: chartTimes(5, 10*time.Second),
				Series: []ChartSeries{{Values: []float64{1, 2, nan, 3, math.Inf(1)}}}},
			points: "3", stretches: []int{2},
			want: []string{"l0 0"},
		},
		{
			name: "a count near zero has whole ticks that fit the margin",
			c: Chart{Title: "Raft lag", Unit: "entries", Integer: true, Times: chartTimes(3, 10*time.Second),
				Series: []ChartSeries{{Values: []float64{0, 0.02, 0}}}},
			points: "3", stretches: []int{1},
			want: []string{">0 entries<", ">1 entry<", ">2 entries<",
				// "2 entries" is 9 characters: the plot starts right of it.
				`<text x="62.5" y=`},
			lack: []string{">0.", ">1.", ".00 entries", ".5 entries", ".25 entries"},
		},
		{
			name: "negative values extend the axis below zero",
			c: Chart{Title: "Delta", Times: chartTimes(2, time.Minute),
				Series: []ChartSeries{{Values: []float64{-3, 5}}}},
			points: "2", stretches: []int{1},
			want: []string{">-5.0<", ">-2.5<", ">0<", ">5.0<"},
		},
		{
			name: "a flat zero line still has a scale",
			c: Chart{Title: "Errors", Unit: "err/s", Times: chartTimes(2, time.Minute),
				Series: []ChartSeries{{Values: []float64{0, 0}}}},
			points: "2", stretches: []int{1},
			want: []string{">0 err/s<", ">0.25 err/s<", ">1.00 err/s<"},
			lack: []string{"NaN", "Inf"},
		},
		{
			name: "more than a day shows dates",
			c: Chart{Title: "Requests", Unit: "req/s", Times: chartTimes(31, time.Hour),
				Series: []ChartSeries{{Values: chartRamp(31, 1)}}},
			points: "31", stretches: []int{1},
			want: []string{">Mar 1 12:00<", ">Mar 2 12:00<"},
		},
		{
			name: "seconds when the span is short",
			c: Chart{Title: "Requests", Unit: "req/s", Times: chartTimes(4, 10*time.Second),
				Series: []ChartSeries{{Values: []float64{1, 2, 3, 4}}}},
			points: "4", stretches: []int{1},
			want: []string{">12:00:00<", ">12:00:30<"},
		},
		{
			name:   "no points",
			c:      Chart{Title: "Requests", Unit: "req/s"},
			points: "0",
			want:   []string{"no data yet"},
			lack:   []string{"chart-line", "req/s<"},
		},
		{
			name: "one point is not a line yet",
			c: Chart{Title: "Requests", Times: chartTimes(1, 0),
				Series: []ChartSeries{{Values: []float64{3}}}},
			points: "1",
			want:   []string{"no data yet"},
		},
		{
			name: "text is escaped",
			c: Chart{Title: `<b>"A&B"</b>`, Unit: "<u>", Times: chartTimes(2, time.Minute),
				Series: []ChartSeries{{Name: "x<y", Values: []float64{1, 2}}, {Name: "'z'", Values: []float64{2, 1}}}},
			points: "2", stretches: []int{1, 1},
			want: []string{"&lt;b&gt;&#34;A&amp;B&#34;&lt;/b&gt;", "x&lt;y", "&lt;u&gt;"},
			lack: []string{"<b>", "<u>"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svg := string(tc.c.SVG())
			attrs := chartParse(t, svg)
			if attrs["data-points"] != tc.points {
				t.Errorf("data-points=%q, want %q", attrs["data-points"], tc.points)
			}
			if attrs["width"] != "100%" || attrs["height"] != "" || attrs["viewBox"] == "" {
				t.Errorf("width %q, height %q, viewBox %q: want a picture as wide as its box", attrs["width"], attrs["height"], attrs["viewBox"])
			}
			if attrs["role"] != "img" || attrs["aria-label"] == "" {
				t.Errorf("role %q, aria-label %q", attrs["role"], attrs["aria-label"])
			}
			if got := chartStretches(svg); !equalInts(got, tc.stretches) {
				t.Errorf("stretches per series %v, want %v", got, tc.stretches)
			}
			for _, s := range tc.want {
				if !strings.Contains(svg, s) {
					t.Errorf("lacks %q", s)
				}
			}
			for _, s := range tc.lack {
				if strings.Contains(svg, s) {
					t.Errorf("has %q", s)
				}
			}
			if t.Failed() {
				t.Log(svg)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestChartValueTicks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lo, hi            float64
		integer           bool
		first, last, step float64
	}{
		{0, 12, false, 0, 15, 5},
		{0, 10, false, 0, 10, 2.5},
		{0, 1.4, false, 0, 1.5, 0.5},
		{0, 280, false, 0, 300, 100},
		{0, 0.03, false, 0, 0.03, 0.01},
		{0, 0, false, 0, 1, 0.25},
		{-3, 5, false, -5, 5, 2.5},
		{0, 8640, false, 0, 10000, 2500},
		// Counts: whole-number spacing, never 2.5 or less than 1.
		{0, 0, true, 0, 2, 1},
		{0, 0.02, true, 0, 2, 1},
		{0, 3, true, 0, 3, 1},
		{0, 10, true, 0, 10, 5},
		{0, 7, true, 0, 8, 2},
		{0, 1000, true, 0, 1000, 250},
	} {
		first, last, step := chartValueTicks(tc.lo, tc.hi, tc.integer)
		if math.Abs(first-tc.first) > 1e-9 || math.Abs(last-tc.last) > 1e-9 || math.Abs(step-tc.step) > 1e-9 {
			t.Errorf("chartValueTicks(%v, %v, %v) = %v..%v by %v, want %v..%v by %v",
				tc.lo, tc.hi, tc.integer, first, last, step, tc.first, tc.last, tc.step)
		}
		if tc.integer && step != math.Trunc(step) {
			t.Errorf("chartValueTicks(%v, %v, true): step %v is not a whole number", tc.lo, tc.hi, step)
		}
		if n := math.Round((last-first)/step) + 1; n < 3 || n > 5 {
			t.Errorf("chartValueTicks(%v, %v): %v ticks", tc.lo, tc.hi, n)
		}
	}
}

func TestChartReducesDensePoints(t *testing.T) {
	t.Parallel()
	// A day at 10 s with one spike: the path must be far smaller than the
	// data, yet still reach the spike.
	const n = 8640
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = 1 + float64(i%7)/10
	}
	vs[4321] = 100
	c := Chart{Title: "Latency", Unit: "ms", Times: chartTimes(n, 10*time.Second),
		Series: []ChartSeries{{Name: "p99", Values: vs}}, Gap: 30 * time.Second}
	svg := string(c.SVG())
	chartParse(t, svg)
	m := chartLine.FindStringSubmatch(svg)
	if m == nil {
		t.Fatal("no line")
	}
	if cmds := strings.Count(m[1], "L") + strings.Count(m[1], "M"); cmds > 2*600 {
		t.Errorf("%d path commands for a 600 px chart", cmds)
	}
	if top := fmt.Sprintf(" %.1f", float64(chartTop)); !strings.Contains(m[1], top) {
		t.Errorf("the spike (y %s) is lost: %.200s", top, m[1])
	}
	if !strings.Contains(svg, `data-points="8640"`) || !strings.Contains(svg, ">100 ms<") {
		t.Errorf("data-points or the axis do not reflect all the data")
	}
}
