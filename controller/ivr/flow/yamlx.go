package flow

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxSourceBytes bounds one source file (flow, prompts, queries, tests).
const MaxSourceBytes = 1 << 20

// reader decodes yaml.Nodes strictly, collecting every problem with its
// position instead of stopping at the first.
type reader struct {
	file  string
	probs *Problems
}

func (r *reader) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: r.file}
	}
	return Pos{File: r.file, Line: n.Line, Col: n.Column}
}

func (r *reader) errf(n *yaml.Node, format string, args ...any) {
	r.probs.add(r.pos(n), format, args...)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDoc parses src into its root node. A syntax error is reported with
// its line; an empty document is reported too. Aliases are refused
// everywhere (they let a small file expand into a huge tree).
func (r *reader) parseDoc(src []byte) *yaml.Node {
	if len(src) > MaxSourceBytes {
		r.probs.add(Pos{File: r.file}, "file is %d bytes, more than the %d allowed", len(src), MaxSourceBytes)
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			msg = te.Errors[0]
		}
		pos := Pos{File: r.file}
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			pos.Line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		msg = strings.TrimPrefix(msg, "yaml: ")
		r.probs.add(pos, "YAML syntax: %s", msg)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		r.probs.add(Pos{File: r.file, Line: 1, Col: 1}, "file is empty")
		return nil
	}
	root := doc.Content[0]
	if !r.noAliases(root, 0) {
		return nil
	}
	return root
}

// maxDepth bounds nesting so hostile input cannot recurse deeply.
const maxDepth = 64

func (r *reader) noAliases(n *yaml.Node, depth int) bool {
	if depth > maxDepth {
		r.errf(n, "nested more than %d levels deep", maxDepth)
		return false
	}
	if n.Kind == yaml.AliasNode {
		r.errf(n, "YAML aliases (*name) are not supported: write the value out")
		return false
	}
	for _, c := range n.Content {
		if !r.noAliases(c, depth+1) {
			return false
		}
	}
	return true
}

// field is one key: value pair of a mapping.
type field struct {
	Key   string
	KeyN  *yaml.Node
	Value *yaml.Node
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "empty"
		case "!!int":
			return "a number"
		case "!!float":
			return "a number"
		case "!!bool":
			return "true/false"
		}
		return "a string"
	}
	return "a value"
}

// mapping returns n's fields in order. what names the thing for messages.
// Duplicate keys and keys not in allowed (when allowed is non-nil) are
// reported; the fields are still returned without them.
func (r *reader) mapping(n *yaml.Node, what string, allowed ...string) []field {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		r.errf(n, "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	var out []field
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			r.errf(k, "%s: a key must be a plain string", what)
			continue
		}
		if seen[k.Value] {
			r.errf(k, "%s: key %q appears twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if allowed != nil && !contains(allowed, k.Value) {
			r.errf(k, "%s: unknown field %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out = append(out, field{Key: k.Value, KeyN: k, Value: v})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *reader) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		r.errf(n, "%s must be a string, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// scalar accepts any scalar (string, number, bool) as its text: menu keys
// and digits are written 1 or "1".
func (r *reader) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		r.errf(n, "%s must be a value, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (r *reader) integer(n *yaml.Node, what string, min, max int) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		r.errf(n, "%s must be a whole number, not %s", what, kindName(n))
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < min || v > max {
		r.errf(n, "%s must be between %d and %d, not %s", what, min, max, n.Value)
		return 0, false
	}
	return v, true
}

func (r *reader) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		r.errf(n, "%s must be true or false, not %s", what, kindName(n))
		return false, false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
}

// duration reads "10s", "1m30s", "500ms" between min and max.
func (r *reader) duration(n *yaml.Node, what string, min, max time.Duration) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		r.errf(n, "%s must be a duration such as 10s, not %s", what, kindName(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		r.errf(n, "%s: %q is not a duration (write e.g. 10s, 1m30s, 500ms)", what, n.Value)
		return 0, false
	}
	if d < min || d > max {
		r.errf(n, "%s must be between %s and %s, not %s", what, min, max, d)
		return 0, false
	}
	return d, true
}

func (r *reader) strings(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		r.errf(n, "%s must be a list, not %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if s, ok := r.scalar(c, what+" entry"); ok {
			out = append(out, s)
		}
	}
	return out
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
