package ops

import (
	"fmt"
	"strings"
)

// LintExposition checks Prometheus text exposition by the conventions
// /metrics keeps (the tests run it on a live node; promtool, where
// installed, checks the same and more): every family has a HELP text and a
// TYPE before its samples and appears once; counters end in _total and
// nothing else does; a histogram has, per label set, buckets up to +Inf,
// _sum and _count; a summary has _sum and _count. It returns one line per
// problem.
func LintExposition(text string) []string {
	var problems []string
	help, typ := map[string]string{}, map[string]string{}
	done := map[string]bool{}
	current := ""
	// per histogram or summary family: label sets seen in each part.
	parts := map[string]map[string]map[string]bool{}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(rest, " ")
			if strings.TrimSpace(text) == "" {
				problems = append(problems, name+": empty HELP")
			}
			if done[name] {
				problems = append(problems, name+": family appears twice")
			}
			if current != "" {
				done[current] = true
			}
			current, help[name] = name, text
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, t, _ := strings.Cut(rest, " ")
			if name != current {
				problems = append(problems, name+": TYPE without HELP before it")
			}
			switch t {
			case "counter", "gauge", "histogram", "summary":
			default:
				problems = append(problems, fmt.Sprintf("%s: type %q", name, t))
			}
			typ[name] = t
			if t == "counter" && !strings.HasSuffix(name, "_total") {
				problems = append(problems, name+": a counter without _total")
			}
			if t != "counter" && strings.HasSuffix(name, "_total") {
				problems = append(problems, name+": _total on a "+t)
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.IndexAny(line, "{ ")
		if i < 0 {
			problems = append(problems, "not a sample: "+line)
			continue
		}
		name, labels := line[:i], ""
		if line[i] == '{' {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				problems = append(problems, "not a sample: "+line)
				continue
			}
			labels = line[i+1 : j]
		}
		part := ""
		switch t := typ[current]; {
		case name == current:
			if t == "histogram" {
				problems = append(problems, name+": a histogram sample without _bucket/_sum/_count")
			}
		case (t == "histogram" || t == "summary") && strings.HasPrefix(name, current+"_"):
			part = strings.TrimPrefix(name, current+"_")
			if part != "sum" && part != "count" && !(t == "histogram" && part == "bucket") {
				problems = append(problems, name+": not part of "+t+" "+current)
			}
		default:
			problems = append(problems, fmt.Sprintf("%s: sample outside its family's HELP/TYPE (current %q)", name, current))
			continue
		}
		if part == "" && typ[current] != "summary" {
			continue
		}
		// Group by the label set without le and quantile.
		var keep []string
		le := ""
		for _, l := range splitLabels(labels) {
			switch {
			case strings.HasPrefix(l, "le="):
				le = l
			case strings.HasPrefix(l, "quantile="):
			default:
				keep = append(keep, l)
			}
		}
		if part == "" {
			part = "quantile"
		}
		if part == "bucket" && le == `le="+Inf"` {
			part = "inf"
		}
		if parts[current] == nil {
			parts[current] = map[string]map[string]bool{}
		}
		set := strings.Join(keep, ",")
		if parts[current][set] == nil {
			parts[current][set] = map[string]bool{}
		}
		parts[current][set][part] = true
	}
	for fam, sets := range parts {
		for set, seen := range sets {
			need := []string{"sum", "count"}
			if typ[fam] == "histogram" {
				need = append(need, "inf")
			}
			for _, p := range need {
				if !seen[p] {
					problems = append(problems, fmt.Sprintf("%s{%s}: no %s", fam, set, p))
				}
			}
		}
	}
	return problems
}

// splitLabels splits `a="x",b="y, z"` at the commas between labels.
func splitLabels(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}
