package ops

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// ChartSeries is one line of a chart.
type ChartSeries struct {
	Name   string
	Values []float64 // one per chart time; NaN or ±Inf leaves a hole
}

// Chart is a line chart of series over time, drawn on the server as inline
// SVG so that the admin page needs neither JavaScript nor a metrics
// service.
type Chart struct {
	Title, Unit string
	Times       []time.Time // ascending
	Series      []ChartSeries
	// Width and Height are the drawing's coordinate system (its viewBox),
	// 0 picking 600×180: the picture itself is as wide as its box, and its
	// text scales with it.
	Width, Height int
	// Integer is for counts (Raft entries, say): value ticks only at whole
	// numbers, never "0.25 entries".
	Integer bool
	// Gap breaks the lines between consecutive times further apart than
	// this (the node was down or unreachable); 0 never breaks them.
	Gap time.Duration
}

// The plot's margins leave room for the title and legend above and the
// time labels below; the left margin is as wide as the longest value label
// needs (chartLabelWidth), at least chartMinLeft.
const chartMinLeft, chartRight, chartTop, chartBottom = 36, 16, 26, 22

// chartCharWidth is a generous guess at the width of one character of the
// 11-unit labels (the server has no font metrics), so that a label fits
// in the margin made for it.
const chartCharWidth = 6.5

// chartUTCWidth is the room the "UTC" at the start of the time axis takes.
const chartUTCWidth = 30

var chartColours = [...]string{"#2563eb", "#dc2626", "#16a34a", "#d97706", "#9333ea"}

// chartTimeSteps are the spacings the time axis may use, all of which
// divide a day (or are whole days) so that labels land on round times.
var chartTimeSteps = [...]time.Duration{
	10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute,
	2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour,
	6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
}

// SVG renders the chart. Every piece of text is escaped, so a title or
// series name can hold anything.
func (c Chart) SVG() template.HTML {
	w, h := c.Width, c.Height
	if w <= 0 {
		w = 600
	}
	if h <= 0 {
		h = 180
	}
	esc := template.HTMLEscapeString
	n := len(c.Times) // times, and values per series, considered
	lo, hi, plotted := 0.0, math.Inf(-1), 0
	for i := range n {
		some := false
		for _, s := range c.Series {
			if i < len(s.Values) && chartFinite(s.Values[i]) {
				lo, hi, some = min(lo, s.Values[i]), max(hi, s.Values[i]), true
			}
		}
		if some {
			plotted++
		}
	}
	label := c.Title
	if c.Unit != "" {
		label += " (" + c.Unit + ")"
	}
	var b strings.Builder
	// width 100% and no height: the browser fits the picture to its box
	// and keeps the viewBox's proportions.
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="%s" width="100%%" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11" fill="#374151" data-points="%d">`,
		esc(label), w, h, plotted)
	fmt.Fprintf(&b, `<title>%s</title><text class="chart-title" x="4" y="15" font-size="13" font-weight="bold">%s</text>`, esc(label), esc(c.Title))
	if len(c.Series) > 1 { // a legend, right-aligned on the title's line
		width := func(s ChartSeries) float64 { return 26 + 6.5*float64(len([]rune(s.Name))) } // a guess; no font metrics
		x := float64(w - chartRight)
		for _, s := range c.Series {
			x -= width(s)
		}
		for i, s := range c.Series {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="11" x2="%.1f" y2="11" stroke="%s" stroke-width="2"/><text x="%.1f" y="15">%s</text>`,
				x, x+14, chartColours[i%len(chartColours)], x+18, esc(s.Name))
			x += width(s)
		}
	}
	x0, x1, y0, y1 := float64(chartMinLeft), float64(w-chartRight), float64(chartTop), float64(h-chartBottom)
	if plotted < 2 {
		fmt.Fprintf(&b, `<text class="chart-empty" x="%.1f" y="%.1f" text-anchor="middle" fill="#6b7280">no data yet</text></svg>`, (x0+x1)/2, (y0+y1)/2)
		return template.HTML(b.String())
	}

	// Value axis: nice ticks from 0 (or the lowest value, if negative).
	first, last, step := chartValueTicks(lo, hi, c.Integer)
	yOf := func(v float64) float64 { return y1 - (v-first)/(last-first)*(y1-y0) }
	top := max(math.Abs(first), math.Abs(last))
	ticks := make([]string, int(math.Round((last-first)/step))+1)
	for k := range ticks {
		ticks[k] = chartValueLabel(first+float64(k)*step, step, top, c.Unit) // not summed, so no drift
		x0 = max(x0, chartLabelWidth(ticks[k])+8)
	}
	for k, label := range ticks {
		y := yOf(first + float64(k)*step)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			x0, y, x1, y, x0-4, y+4, esc(label))
	}

	// Time axis: round UTC times, with the date once the span exceeds a day.
	t0, t1 := c.Times[0], c.Times[n-1]
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Minute
	}
	xOf := func(t time.Time) float64 { return x0 + float64(t.Sub(t0))/float64(span)*(x1-x0) }
	tstep := chartTimeSteps[len(chartTimeSteps)-1]
	for _, s := range chartTimeSteps {
		if span/s < 6 { // at most 6 labels
			tstep = s
			break
		}
	}
	layout := "15:04"
	switch {
	case span > 24*time.Hour:
		layout = "Jan 2 15:04"
	case tstep < time.Minute:
		layout = "15:04:05"
	}
	for t := t0.Truncate(tstep); !t.After(t1); t = t.Add(tstep) {
		if t.Before(t0) {
			continue
		}
		label := t.UTC().Format(layout)
		x, anchor := xOf(t), "middle"
		switch half := chartLabelWidth(label) / 2; {
		case x+half > float64(w):
			anchor = "end" // keep the last label inside the picture
		case x-half < chartUTCWidth:
			anchor = "start" // and the first clear of "UTC"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e7eb"/><text x="%.1f" y="%.1f" text-anchor="%s">%s</text>`,
			x, y0, x, y1, x, y1+15, anchor, esc(label))
	}
	fmt.Fprintf(&b, `<text x="4" y="%.1f" fill="#6b7280">UTC</text>`, y1+15)
	fmt.Fprintf(&b, `<path d="M%.1f %.1fV%.1fH%.1f" fill="none" stroke="#9ca3af"/>`, x0, y0, y1, x1)

	for i, s := range c.Series {
		if d := c.path(s.Values[:min(n, len(s.Values))], xOf, yOf); d != "" {
			fmt.Fprintf(&b, `<path class="chart-line chart-line-%d" d="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"/>`,
				i, d, chartColours[i%len(chartColours)])
		}
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// path returns the SVG path data of one series. A hole in the values or a
// gap in time lifts the pen. Points that share a pixel column are reduced
// to the column's lowest and highest, in time order: a day of 10 s
// samples is some 17 points a column, which would only bloat the page,
// and the spikes are what an operator looks for.
func (c Chart) path(values []float64, xOf func(time.Time) float64, yOf func(float64) float64) string {
	type point struct{ x, y float64 }
	var d strings.Builder
	drawn := 0         // points drawn in the current stretch
	var lo, hi point   // the current column's extremes (lo is lower on screen)
	loFirst := false   // whether lo came before hi
	col, inCol := 0, 0 // the current column and how many points fell in it
	draw := func(p point) {
		cmd := "L"
		if drawn == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%.1f %.1f", cmd, p.x, p.y)
		drawn++
	}
	flush := func() {
		switch {
		case inCol == 0:
		case lo == hi:
			draw(lo)
		case loFirst:
			draw(lo)
			draw(hi)
		default:
			draw(hi)
			draw(lo)
		}
		inCol = 0
	}
	lift := func() {
		flush()
		if drawn == 1 {
			d.WriteString("l0 0") // a lone point shows as a dot
		}
		drawn = 0
	}
	for j, v := range values {
		if j > 0 && c.Gap > 0 && c.Times[j].Sub(c.Times[j-1]) > c.Gap {
			lift()
		}
		if !chartFinite(v) {
			lift()
			continue
		}
		p := point{xOf(c.Times[j]), yOf(v)}
		if inCol == 0 || int(p.x) != col {
			flush()
			col, lo, hi, inCol = int(p.x), p, p, 1
			continue
		}
		if p.y > lo.y {
			lo, loFirst = p, false
		}
		if p.y < hi.y {
			hi, loFirst = p, true
		}
		inCol++
	}
	lift()
	return d.String()
}

func chartFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// chartLabelWidth estimates how wide a label is drawn.
func chartLabelWidth(s string) float64 { return chartCharWidth * float64(len([]rune(s))) }

// chartValueTicks picks 4 or 5 ticks at a 1, 2, 2.5 or 5 times a power of
// ten spacing that cover lo..hi. With integer, the spacing is a whole
// number (at least 1, never 2.5), and a small range gets 3 to 5 ticks.
func chartValueTicks(lo, hi float64, integer bool) (first, last, step float64) {
	switch {
	case integer && hi < lo+2:
		hi = lo + 2 // a flat count still needs a scale: 0, 1, 2
	case hi <= lo:
		hi = lo + 1 // a flat line still needs a scale
	}
	if !chartFinite(hi-lo) || !chartFinite(lo) || !chartFinite(hi) {
		// Values near the float range (only a broken member would send
		// them): a plain scale rather than a search that never ends.
		return lo, hi, hi - lo
	}
	step = chartNiceStep((hi - lo) / 4)
	for {
		if integer && (step < 1 || step != math.Trunc(step)) {
			step = chartNiceStep(max(step*1.01, 1))
			continue
		}
		// The epsilon keeps float noise (4.0000001 steps) from adding a tick.
		first = math.Floor(lo/step+1e-9) * step
		last = math.Ceil(hi/step-1e-9) * step
		if (last-first)/step < 4.5 {
			return first, last, step
		}
		step = chartNiceStep(step * 1.01)
	}
}

// chartNiceStep returns the smallest 1, 2, 2.5 or 5 times a power of ten
// that is at least rough.
func chartNiceStep(rough float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(rough)))
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*p >= rough*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// chartValueLabel formats a tick with as many decimals as the spacing
// needs ("2.5 ms", "300 MiB"; zero is plain "0"). When the largest tick, top, is big, every
// tick is written in thousands ("k") or millions ("M"), so labels stay
// short and alike.
func chartValueLabel(v, step, top float64, unit string) string {
	suffix := ""
	switch {
	case top >= 1e7:
		v, step, suffix = v/1e6, step/1e6, "M"
	case top >= 1e4:
		v, step, suffix = v/1e3, step/1e3, "k"
	}
	decimals := 0
	for scaled := step; decimals < 6 && math.Abs(scaled-math.Round(scaled)) > 1e-6*scaled; scaled *= 10 {
		decimals++
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64) + suffix
	if v == 0 {
		s = "0" // not "0.0k" or "-0"
	}
	if unit != "" {
		if s == "1" && strings.HasSuffix(unit, "ies") {
			unit = strings.TrimSuffix(unit, "ies") + "y" // "1 entry", not "1 entries"
		}
		s += " " + unit
	}
	return s
}
