package flow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Fixtures stand in for the outside world in simulations and flow tests:
//
//	now: 2026-11-23T10:00:00+08:00      # the call's clock
//	lookups:                            # named SQL queries
//	  current_bill: {found: true, values: {cents: 12345}}
//	  bill_history: {error: timeout}    # the lookup fails: on_error
//	http:                               # HTTP lookups, by URL, or by endpoint name and path
//	  https://bb.example/status: {status: 200, body: '{"state": "up"}'}
//	  broadband_status/v1/line: {status: 404}
//	notices:
//	  - {id: 1, kind: emergency, prompt: "sound:hotline/storm", text: Storm}
//
// A lookup with no fixture fails (its on_error branch).
type Fixtures struct {
	Now     time.Time
	Lookups map[string]FixtureRow
	HTTP    map[string]FixtureHTTP
	Notices []Notice
}

// FixtureRow is a SQL lookup's fixture.
type FixtureRow struct {
	Found  bool
	Values map[string]any
	Error  string
}

// FixtureHTTP is an HTTP lookup's fixture: a response or an error.
type FixtureHTTP struct {
	Status int
	Body   string
	Error  string
}

// Lookup implements Lookups from the fixtures.
func (f *Fixtures) Lookup(ctx context.Context, req LookupRequest) (Row, error) {
	if err := ctx.Err(); err != nil {
		return Row{}, err
	}
	if req.Query != nil {
		fx, ok := f.Lookups[req.Name]
		if !ok {
			return Row{}, fmt.Errorf("no fixture for lookup %s", req.Name)
		}
		if fx.Error != "" {
			return Row{}, errors.New(fx.Error)
		}
		vals := make(map[string]any, len(fx.Values))
		for k, v := range fx.Values {
			vals[k] = v
		}
		return Row{Found: fx.Found, Values: vals}, nil
	}
	fx, ok := f.HTTP[req.Name]
	if !ok {
		return Row{}, fmt.Errorf("no fixture for http %s", req.Name)
	}
	if fx.Error != "" {
		return Row{}, errors.New(fx.Error)
	}
	return DecodeHTTP(fx.Status, []byte(fx.Body), req.Fields)
}

// merge returns f with o's sections replacing f's where o has them.
func (f *Fixtures) merge(o *Fixtures) *Fixtures {
	if o == nil {
		return f
	}
	out := *f
	if !o.Now.IsZero() {
		out.Now = o.Now
	}
	if o.Lookups != nil {
		out.Lookups = o.Lookups
	}
	if o.HTTP != nil {
		out.HTTP = o.HTTP
	}
	if o.Notices != nil {
		out.Notices = o.Notices
	}
	return &out
}

// ParseFixtures reads a fixtures file (the simulator's --fixtures).
func ParseFixtures(file string, src []byte) (*Fixtures, error) {
	var probs Problems
	r := &reader{file: file, probs: &probs}
	root := r.parseDoc(src)
	var fx *Fixtures
	if root != nil {
		fx = r.fixtures(root, "fixtures")
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return fx, nil
}

func (r *reader) fixtures(n *yaml.Node, what string) *Fixtures {
	fx := &Fixtures{}
	for _, f := range r.mapping(n, what, "now", "lookups", "http", "notices") {
		switch f.Key {
		case "now":
			if s, ok := r.scalar(f.Value, what+".now"); ok {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					r.errf(f.Value, "%s.now: %q is not an RFC 3339 time (2026-11-23T10:00:00+08:00)", what, s)
				}
				fx.Now = t
			}
		case "lookups":
			fx.Lookups = map[string]FixtureRow{}
			for _, l := range r.mapping(f.Value, what+".lookups") {
				var row FixtureRow
				w := what + ".lookups." + l.Key
				for _, g := range r.mapping(l.Value, w, "found", "values", "error") {
					switch g.Key {
					case "found":
						row.Found, _ = r.boolean(g.Value, w+".found")
					case "values":
						row.Values = map[string]any{}
						for _, v := range r.mapping(g.Value, w+".values") {
							row.Values[v.Key] = r.anyScalar(v.Value, w+".values."+v.Key)
						}
						if len(row.Values) > 0 {
							row.Found = true
						}
					case "error":
						row.Error, _ = r.str(g.Value, w+".error")
					}
				}
				fx.Lookups[l.Key] = row
			}
		case "http":
			fx.HTTP = map[string]FixtureHTTP{}
			for _, h := range r.mapping(f.Value, what+".http") {
				resp := FixtureHTTP{Status: 200}
				w := what + ".http." + h.Key
				for _, g := range r.mapping(h.Value, w, "status", "body", "error") {
					switch g.Key {
					case "status":
						resp.Status, _ = r.integer(g.Value, w+".status", 100, 599)
					case "body":
						resp.Body, _ = r.str(g.Value, w+".body")
					case "error":
						resp.Error, _ = r.str(g.Value, w+".error")
					}
				}
				fx.HTTP[h.Key] = resp
			}
		case "notices":
			fx.Notices = []Notice{}
			if f.Value.Kind != yaml.SequenceNode {
				r.errf(f.Value, "%s.notices must be a list", what)
				continue
			}
			for i, c := range f.Value.Content {
				var nt Notice
				w := fmt.Sprintf("%s.notices[%d]", what, i)
				for _, g := range r.mapping(c, w, "id", "kind", "area", "prompt", "text") {
					switch g.Key {
					case "id":
						id, _ := r.integer(g.Value, w+".id", 0, 1<<31-1)
						nt.ID = int64(id)
					case "kind":
						if nt.Kind, _ = r.str(g.Value, w+".kind"); !contains(noticeKinds, nt.Kind) {
							r.errf(g.Value, "%s.kind: %q is not one of outage, tariff, emergency", w, nt.Kind)
						}
					case "area":
						nt.Area, _ = r.scalar(g.Value, w+".area")
					case "prompt":
						nt.Prompt, _ = r.str(g.Value, w+".prompt")
					case "text":
						nt.Text, _ = r.str(g.Value, w+".text")
					}
				}
				fx.Notices = append(fx.Notices, nt)
			}
		}
	}
	return fx
}

// anyScalar decodes a scalar by its YAML tag: int, float, bool or string.
func (r *reader) anyScalar(n *yaml.Node, what string) any {
	if n.Kind != yaml.ScalarNode {
		r.errf(n, "%s must be a string, number or true/false, not %s", what, kindName(n))
		return nil
	}
	switch n.Tag {
	case "!!int":
		if v, err := strconv.Atoi(n.Value); err == nil {
			return v
		}
	case "!!float":
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return v
		}
	case "!!bool":
		b, _ := r.boolean(n, what)
		return b
	case "!!null":
		return nil
	}
	return n.Value
}
