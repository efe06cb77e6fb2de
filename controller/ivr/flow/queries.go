package flow

import (
	"regexp"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Query is one named SQL query from the queries file (ivr-scripts/
// queries.yaml), run by lookup nodes:
//
//	current_bill:
//	  sql: SELECT current_bill_cents AS cents FROM customers WHERE number = $1
//	  params: [number]
//	  columns: {cents: int}
//
// Params name $1, $2, ... in order; a lookup node gives each one as an
// expression. Columns are the result columns the flow may use, with their
// types (string, int, float, bool). Queries run in a read-only
// transaction unless write: true.
type Query struct {
	Name    string
	SQL     string
	Params  []string
	Columns []Column
	Write   bool
	Pos     Pos
}

// Column is a typed result field of a lookup.
type Column struct {
	Name string
	Type VarType
}

// Queries is the set of named queries.
type Queries struct {
	src    []byte
	byName map[string]*Query
}

// Get returns the named query.
func (q *Queries) Get(name string) *Query {
	if q == nil {
		return nil
	}
	return q.byName[name]
}

// Names lists the queries in name order.
func (q *Queries) Names() []string {
	if q == nil {
		return nil
	}
	out := make([]string, 0, len(q.byName))
	for n := range q.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Source is the text the queries were parsed from: what a deploy stores
// as the bundle's queries.yaml.
func (q *Queries) Source() []byte {
	if q == nil {
		return nil
	}
	return append([]byte(nil), q.src...)
}

var (
	identRE       = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	placeholderRE = regexp.MustCompile(`\$([0-9]+)`)
)

// ParseQueries reads a queries file.
func ParseQueries(file string, src []byte) (*Queries, error) {
	var probs Problems
	r := &reader{file: file, probs: &probs}
	qs := &Queries{src: append([]byte(nil), src...), byName: map[string]*Query{}}
	root := r.parseDoc(src)
	for _, f := range r.mapping(root, "queries") {
		if !identRE.MatchString(f.Key) {
			r.errf(f.KeyN, "query name %q: use a-z, 0-9 and '_', starting with a letter", f.Key)
			continue
		}
		q := &Query{Name: f.Key, Pos: r.pos(f.KeyN)}
		var sqlN *yaml.Node
		for _, g := range r.mapping(f.Value, "query "+f.Key, "sql", "params", "columns", "write", "description") {
			switch g.Key {
			case "sql":
				q.SQL, _ = r.str(g.Value, "sql")
				sqlN = g.Value
			case "params":
				q.Params = r.strings(g.Value, "params")
				for i, p := range q.Params {
					if !identRE.MatchString(p) {
						r.errf(g.Value, "params[%d] %q: use a-z, 0-9 and '_'", i, p)
					}
				}
			case "columns":
				for _, c := range r.mapping(g.Value, "columns") {
					t, ok := r.varType(c.Value, "column "+c.Key)
					if !ok {
						continue
					}
					if !identRE.MatchString(c.Key) || c.Key == "found" {
						r.errf(c.KeyN, "column name %q: use a-z, 0-9 and '_' (and not \"found\")", c.Key)
						continue
					}
					q.Columns = append(q.Columns, Column{Name: c.Key, Type: t})
				}
			case "write":
				q.Write, _ = r.boolean(g.Value, "write")
			case "description":
				r.str(g.Value, "description")
			}
		}
		if sqlN == nil || q.SQL == "" {
			r.errf(f.KeyN, "query %s has no sql", f.Key)
			continue
		}
		max := 0
		for _, m := range placeholderRE.FindAllStringSubmatch(q.SQL, -1) {
			if n, err := strconv.Atoi(m[1]); err == nil && n > max {
				max = n
			}
		}
		if max != len(q.Params) {
			r.errf(sqlN, "query %s uses $1..$%d but declares %d params", f.Key, max, len(q.Params))
		}
		qs.byName[q.Name] = q
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return qs, nil
}
