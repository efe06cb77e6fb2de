package flow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

var shapes = map[Kind]string{
	KindPlay: "box", KindMenu: "diamond", KindCollect: "parallelogram", KindLookup: "cylinder",
	KindCondition: "hexagon", KindSet: "note", KindQueue: "doubleoctagon", KindTransfer: "doubleoctagon",
	KindRecord: "box3d", KindSurvey: "diamond", KindHangup: "octagon", KindGoto: "circle",
	KindFlow: "folder", KindNotice: "note",
}

// DOT writes the program as a Graphviz digraph: one cluster per flow,
// nodes in file order, edges labelled with the key, branch or event that
// takes them. The output depends only on the program.
func (p *Program) DOT(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "digraph %s {\n", dotID(p.Main.Name))
	b.WriteString("  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for i, f := range p.flows {
		fmt.Fprintf(&b, "  subgraph %s {\n", dotID(fmt.Sprintf("cluster_%d", i)))
		fmt.Fprintf(&b, "    label=%s;\n", dotID("flow "+f.Name))
		used := map[string]bool{}
		for _, n := range f.Nodes {
			label := n.ID + "\n" + string(n.Kind)
			if n.Kind == KindFlow {
				label += " " + n.Flow
			}
			fmt.Fprintf(&b, "    %s [label=%s, shape=%s];\n", dotID(f.Name+"."+n.ID), dotID(label), shapes[n.Kind])
			for _, e := range edges(n) {
				if e.t.node < 0 {
					used[e.t.Name] = true
				}
			}
		}
		for _, bt := range builtinTargets {
			if used[bt] {
				fmt.Fprintf(&b, "    %s [label=%s, shape=ellipse, style=filled, fillcolor=lightgrey];\n",
					dotID(f.Name+".@"+bt), dotID(bt))
			}
		}
		b.WriteString("  }\n")
	}
	for _, f := range p.flows {
		fmt.Fprintf(&b, "  %s [shape=point];\n", dotID(f.Name+".@start"))
		fmt.Fprintf(&b, "  %s -> %s;\n", dotID(f.Name+".@start"), dotID(f.Name+"."+f.Nodes[f.Start].ID))
		for _, n := range f.Nodes {
			from := dotID(f.Name + "." + n.ID)
			for _, e := range edges(n) {
				to := f.Name + "." + e.t.Name
				if e.t.node < 0 {
					to = f.Name + ".@" + e.t.Name
				}
				if e.t.Name == TargetRepeat {
					to = f.Name + "." + n.ID
				}
				attrs := ""
				if e.label != "" {
					attrs = " [label=" + dotID(e.label) + "]"
				}
				fmt.Fprintf(&b, "  %s -> %s%s;\n", from, dotID(to), attrs)
			}
			if n.Kind == KindFlow && n.sub != nil {
				fmt.Fprintf(&b, "  %s -> %s [style=dashed, label=\"call\"];\n", from, dotID(n.sub.Name+"."+n.sub.Nodes[n.sub.Start].ID))
			}
		}
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

type edge struct {
	label string
	t     Target
}

func edges(n *Node) []edge {
	var es []edge
	add := func(label string, t Target) {
		if t.Set() {
			es = append(es, edge{label, t})
		}
	}
	add("", n.Next)
	for _, o := range n.Options {
		add(o.Key, o.To)
	}
	if n.Kind == KindMenu || n.Kind == KindCollect || n.Kind == KindSurvey {
		add("timeout", n.OnTimeout)
		add("invalid ×"+fmt.Sprint(n.MaxInvalid), n.OnMaxInvalid)
	}
	add("error", n.OnError)
	for _, b := range n.When {
		src := ""
		if b.If != nil {
			src = b.If.Src
		}
		add(src, b.To)
	}
	add("else", n.Else)
	return es
}

// dotID quotes s as a DOT string.
func dotID(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// ErrNoDot is returned by SVG when Graphviz's dot is not installed.
var ErrNoDot = errors.New("graphviz's dot is not installed (apt-get install graphviz; scripts/setup.sh installs it)")

// SVG renders the program's DOT graph to SVG with Graphviz's dot.
func (p *Program) SVG(ctx context.Context, w io.Writer) error {
	dot, err := exec.LookPath("dot")
	if err != nil {
		return ErrNoDot
	}
	var in, errb bytes.Buffer
	if err := p.DOT(&in); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, dot, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &in, w, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dot -Tsvg: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	return nil
}
