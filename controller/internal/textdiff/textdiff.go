// Package textdiff compares texts line by line (Myers' O(ND) algorithm,
// which finds a shortest edit script) and renders the result as a unified
// diff, the format of `diff -u` and `git diff`.
package textdiff

import (
	"fmt"
	"slices"
	"strings"
)

// Op is what an Edit does to a line.
type Op int

// Edit operations.
const (
	Equal  Op = iota // the line is in both texts
	Delete           // the line is only in the old text
	Insert           // the line is only in the new text
)

// Edit is one line of an edit script.
type Edit struct {
	Op   Op
	Line string
}

// Lines splits s into lines, each with its "\n"; the last line lacks it
// when s does not end in a newline. An empty s has no lines.
func Lines(s string) []string {
	if s == "" {
		return nil
	}
	ls := strings.SplitAfter(s, "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// Diff returns a shortest edit script turning a into b: the Equal and
// Delete lines, in order, are a; the Equal and Insert lines are b.
func Diff(a, b []string) []Edit {
	// The common prefix and suffix are equal lines; Myers runs on the rest.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	out := make([]Edit, 0, len(a)+len(b))
	for _, l := range a[:pre] {
		out = append(out, Edit{Equal, l})
	}
	out = append(out, myers(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		out = append(out, Edit{Equal, l})
	}
	return out
}

// myers is Myers' greedy forward algorithm with the furthest-reaching x
// of every diagonal kept per edit distance d for the walk back.
func myers(a, b []string) []Edit {
	n, m := len(a), len(b)
	limit := n + m
	off := limit
	v := make([]int, 2*limit+2)
	var trace [][]int // trace[d][k+d]: v before step d
	dist := -1
search:
	for d := 0; d <= limit; d++ {
		trace = append(trace, slices.Clone(v[off-d:off+d+1]))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1] // down: insert b[y]
			} else {
				x = v[off+k-1] + 1 // right: delete a[x]
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				dist = d
				break search
			}
		}
	}

	rev := make([]Edit, 0, n+m)
	x, y := n, m
	for d := dist; d > 0; d-- {
		vd := trace[d]
		k := x - y
		prevK := k - 1
		if k == -d || (k != d && vd[k-1+d] < vd[k+1+d]) {
			prevK = k + 1
		}
		prevX := vd[prevK+d]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			rev = append(rev, Edit{Equal, a[x-1]})
			x--
			y--
		}
		if prevK == k+1 {
			rev = append(rev, Edit{Insert, b[y-1]})
		} else {
			rev = append(rev, Edit{Delete, a[x-1]})
		}
		x, y = prevX, prevY
	}
	for x > 0 && y > 0 {
		rev = append(rev, Edit{Equal, a[x-1]})
		x--
		y--
	}
	slices.Reverse(rev)
	return rev
}

// Unified returns the unified diff turning text a (named from) into b
// (named to), with context unchanged lines around each change, or "" when
// the texts are equal. A last line without a newline is marked the way
// diff marks it ("\ No newline at end of file").
func Unified(from, to string, a, b []byte, context int) string {
	edits := Diff(Lines(string(a)), Lines(string(b)))
	edits = deletesFirst(edits)
	context = max(context, 0)

	// Positions in a and b before each edit.
	ai := make([]int, len(edits)+1)
	bi := make([]int, len(edits)+1)
	var changes []int
	for i, e := range edits {
		ai[i+1], bi[i+1] = ai[i], bi[i]
		if e.Op != Insert {
			ai[i+1]++
		}
		if e.Op != Delete {
			bi[i+1]++
		}
		if e.Op != Equal {
			changes = append(changes, i)
		}
	}
	if len(changes) == 0 {
		return ""
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", from, to)
	for i := 0; i < len(changes); {
		// A hunk runs from context lines before its first change to context
		// lines after its last; changes closer than 2*context join it.
		j := i
		for j+1 < len(changes) && changes[j+1]-changes[j] <= 2*context+1 {
			j++
		}
		start := max(changes[i]-context, 0)
		end := min(changes[j]+context+1, len(edits))
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(ai[start], ai[end]-ai[start]), hunkRange(bi[start], bi[end]-bi[start]))
		for _, e := range edits[start:end] {
			sb.WriteByte(" -+"[e.Op])
			sb.WriteString(e.Line)
			if !strings.HasSuffix(e.Line, "\n") {
				sb.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = j + 1
	}
	return sb.String()
}

// hunkRange formats one side of a hunk header: the first line (1-based;
// for an empty range the line before it) and the count, omitted when 1.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

// deletesFirst orders each run of changed lines as its deletions, then its
// insertions, the way unified diffs show them.
func deletesFirst(edits []Edit) []Edit {
	out := make([]Edit, 0, len(edits))
	for i := 0; i < len(edits); {
		if edits[i].Op == Equal {
			out = append(out, edits[i])
			i++
			continue
		}
		j := i
		for j < len(edits) && edits[j].Op != Equal {
			j++
		}
		for _, e := range edits[i:j] {
			if e.Op == Delete {
				out = append(out, e)
			}
		}
		for _, e := range edits[i:j] {
			if e.Op == Insert {
				out = append(out, e)
			}
		}
		i = j
	}
	return out
}
