package flow

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in a source file. Line and Col are 1-based; 0 means
// unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

// String renders the position as "file:line:col", leaving out what is
// unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	return b.String()
}

// Problem is one thing wrong with a flow, a prompt list, a query file or a
// test file, at a position in it.
type Problem struct {
	Pos Pos
	Msg string
}

// Error renders the problem as "file:line:col: message".
func (p Problem) Error() string {
	if s := p.Pos.String(); s != "" {
		return s + ": " + p.Msg
	}
	return p.Msg
}

// Problems is every problem found in one pass, sorted by file and
// position. It is returned as an error only when non-empty.
type Problems []Problem

// Error renders one problem per line.
func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

func (ps *Problems) add(pos Pos, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// err sorts the problems, drops exact duplicates and returns them as an
// error, or nil when there are none.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	ps = slices.CompactFunc(ps, func(a, b Problem) bool { return a == b })
	return ps
}
