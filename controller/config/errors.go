package config

import (
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration, located where possible
// in its file: "hotline.yaml:12: agents[1].endpoint: ...".
type Problem struct {
	File string // the configuration file, "" when not from a file
	Line int    // 1-based line in File, 0 when unknown
	Path string // the setting, e.g. "queues[0].ring_timeout"; may be ""
	Msg  string
}

// Error renders the problem as "file:line: path: msg", leaving out what is
// unknown.
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one pass (Load, Validate or
// CheckSecrets). It is returned as an error only when non-empty; use
// errors.As to get at the individual problems.
type Problems []Problem

// Error renders one problem per line.
func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// err returns ps as an error, or nil when there are none (never a typed
// nil inside a non-nil interface).
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}
