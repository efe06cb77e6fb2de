package flow

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

// Prompts is the set of prompt names the build generates audio for, read
// from ivr-scripts/prompts.txt: one "NAME|TEXT" or "NAME|TEXT|LANG" a
// line, "#" comments. LANG is "en" (the default) or "zh" (spoken by the
// Mandarin voice). A prompt NAME plays as "sound:hotline/NAME".
type Prompts struct {
	file  string
	src   []byte
	names map[string]string // name → language
}

// PromptMedia is the media prefix of the prompts in prompts.txt.
const PromptMedia = "sound:hotline/"

var promptNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// ParsePrompts reads a prompts.txt. file names it in problems.
func ParsePrompts(file string, src []byte) (*Prompts, error) {
	var probs Problems
	p := &Prompts{file: file, src: append([]byte(nil), src...), names: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 4096), MaxSourceBytes)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		parts := strings.Split(t, "|")
		pos := Pos{File: file, Line: line, Col: 1}
		if len(parts) < 2 || len(parts) > 3 {
			probs.add(pos, "want NAME|TEXT or NAME|TEXT|LANG, got %q", t)
			continue
		}
		name, lang := parts[0], "en"
		if len(parts) == 3 {
			lang = parts[2]
		}
		switch {
		case !promptNameRE.MatchString(name):
			probs.add(pos, "bad prompt name %q (use a-z, 0-9 and '-')", name)
		case strings.TrimSpace(parts[1]) == "":
			probs.add(pos, "prompt %s has no text", name)
		case lang != "en" && lang != "zh":
			probs.add(Pos{File: file, Line: line, Col: len(parts[0]) + len(parts[1]) + 3}, "prompt %s: language %q is not en or zh", name, lang)
		case p.names[name] != "":
			probs.add(pos, "prompt %s is defined twice", name)
		default:
			p.names[name] = lang
		}
	}
	if err := sc.Err(); err != nil {
		probs.add(Pos{File: file, Line: line + 1}, "%v", err)
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// Has reports whether name is a defined prompt.
func (p *Prompts) Has(name string) bool { return p != nil && p.names[name] != "" }

// Len is the number of prompts.
func (p *Prompts) Len() int {
	if p == nil {
		return 0
	}
	return len(p.names)
}

// File is the file the prompts were read from.
func (p *Prompts) File() string {
	if p == nil {
		return ""
	}
	return p.file
}

// Source is the text the prompts were parsed from: what a deploy stores
// as the bundle's prompts.txt.
func (p *Prompts) Source() []byte {
	if p == nil {
		return nil
	}
	return append([]byte(nil), p.src...)
}
