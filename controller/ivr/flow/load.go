package flow

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"
)

// Options are what a flow is checked against.
type Options struct {
	// Prompts are the defined prompt names; nil: prompt names are not
	// checked.
	Prompts *Prompts
	// Queries are the named SQL queries lookup nodes may run.
	Queries *Queries
	// Endpoints are the installation's named HTTP endpoints; nil: the
	// endpoint names of http lookups are not checked (a name that is not
	// configured fails when the lookup runs, taking its on_error branch).
	Endpoints *Endpoints
}

// Endpoints are the names of the HTTP endpoints an installation
// configures (hotline's ivr.http_endpoints), which http lookups name with
// endpoint:.
type Endpoints struct {
	// Names are the configured endpoint names.
	Names []string
	// Source is the configuration file they come from, for problems;
	// may be "".
	Source string
}

func (e *Endpoints) has(name string) bool { return e != nil && slices.Contains(e.Names, name) }

func (e *Endpoints) from() string {
	if e.Source == "" {
		return ""
	}
	return " of " + e.Source
}

// Program is a flow compiled with every sub-flow it references. It is
// immutable: any number of calls may run it at once.
type Program struct {
	Main    *Flow
	flows   []*Flow // main first, then sub-flows in the order referenced
	files   []string
	sources map[string][]byte // file → the source compiled
	opts    Options
}

// Flows lists the program's flows, the main one first, then sub-flows in
// the order they were referenced.
func (p *Program) Flows() []*Flow {
	return append([]*Flow(nil), p.flows...)
}

// Files lists the flow files the program was compiled from (paths within
// the file system given to Load), the main one first: what a deploy must
// bundle.
func (p *Program) Files() []string { return append([]string(nil), p.files...) }

// The bundle keys of the prompt list and the named queries a deployed flow
// was checked against (see Program.Bundle and LoadBundle).
const (
	PromptsFile = "prompts.txt"
	QueriesFile = "queries.yaml"
)

// Bundle is what a deploy stores: every flow file of the program (Files)
// with the source it was compiled from, and the prompt list and named
// queries it was checked against, as PromptsFile and QueriesFile (each
// only when the program was checked against one).
func (p *Program) Bundle() map[string][]byte {
	out := make(map[string][]byte, len(p.sources)+2)
	for name, src := range p.sources {
		out[name] = append([]byte(nil), src...)
	}
	if p.opts.Prompts != nil {
		out[PromptsFile] = p.opts.Prompts.Source()
	}
	if p.opts.Queries != nil {
		out[QueriesFile] = p.opts.Queries.Source()
	}
	return out
}

// HTTPEndpoints lists the endpoint names the program's http lookups use,
// sorted, each once.
func (p *Program) HTTPEndpoints() []string {
	var out []string
	for _, f := range p.flows {
		for _, n := range f.Nodes {
			if n.HTTP != nil && n.HTTP.Endpoint != "" && !slices.Contains(out, n.HTTP.Endpoint) {
				out = append(out, n.HTTP.Endpoint)
			}
		}
	}
	slices.Sort(out)
	return out
}

// BundleOptions returns the options a deployed bundle is compiled with:
// its own PromptsFile and QueriesFile where it has them, fallback's
// where it does not (a bundle deployed before bundles carried them), and
// fallback's Endpoints.
func BundleOptions(files map[string][]byte, fallback Options) (Options, error) {
	o := fallback
	var errs Problems
	if src, ok := files[PromptsFile]; ok {
		p, err := ParsePrompts(PromptsFile, src)
		if err != nil {
			addProblems(&errs, PromptsFile, err)
		}
		o.Prompts = p
	}
	if src, ok := files[QueriesFile]; ok {
		q, err := ParseQueries(QueriesFile, src)
		if err != nil {
			addProblems(&errs, QueriesFile, err)
		}
		o.Queries = q
	}
	return o, errs.err()
}

// LoadBundle compiles a deployed bundle (file name → source, as
// Program.Bundle gives it) from its entry file, with BundleOptions.
func LoadBundle(files map[string][]byte, entry string, fallback Options) (*Program, error) {
	opts, err := BundleOptions(files, fallback)
	if err != nil {
		return nil, err
	}
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: data, Mode: 0o444}
	}
	return Load(fsys, entry, opts)
}

// FlowName is a flow's name: its file name without .yaml or .yml.
func FlowName(file string) string {
	base := path.Base(filepath.ToSlash(file))
	for _, ext := range []string{".yaml", ".yml"} {
		if strings.HasSuffix(base, ext) {
			return strings.TrimSuffix(base, ext)
		}
	}
	return base
}

// Load reads the flow file name from fsys, with every sub-flow it
// references (NAME.yaml or NAME.yml in the same directory), and compiles
// them. The error is Problems naming file:line:col for everything wrong.
func Load(fsys fs.FS, name string, opts Options) (*Program, error) {
	l := &loader{fsys: fsys, opts: opts, flows: map[string]*Flow{}, state: map[string]int{}, sources: map[string][]byte{}}
	main := l.load(name, nil)
	if err := l.probs.err(); err != nil {
		return nil, err
	}
	if main == nil {
		return nil, errors.New("flow: nothing loaded")
	}
	return &Program{Main: main, flows: l.order, files: l.files, sources: l.sources, opts: opts}, nil
}

// LoadFile loads a flow file from the operating system's file system.
func LoadFile(file string, opts Options) (*Program, error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	return Load(osFS{dir: dir, display: dir}, base, opts)
}

// osFS is os.DirFS that names files in problems as the user gave them.
type osFS struct{ dir, display string }

func (o osFS) Open(name string) (fs.File, error) {
	return os.DirFS(o.dir).Open(name)
}

type loader struct {
	fsys  fs.FS
	opts  Options
	probs Problems
	flows map[string]*Flow // by file
	order []*Flow
	state map[string]int // 1 loading, 2 done
	files []string
	// sources are the files read, as read
	sources map[string][]byte
}

// display is how a file is named in problems.
func (l *loader) display(name string) string {
	if o, ok := l.fsys.(osFS); ok {
		if o.dir == "." || o.dir == "./" {
			return name
		}
		return filepath.Join(o.display, name)
	}
	return name
}

func readAll(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxSourceBytes+1))
}

// maxFlows bounds the sub-flows one program may reference.
const maxFlows = 64

func (l *loader) load(name string, from *Node) *Flow {
	disp := l.display(name)
	src, err := readAll(l.fsys, name)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "file not found"
		}
		if from != nil {
			l.probs.add(from.Pos, "flow %s: %s: %s", from.Flow, disp, msg)
		} else {
			l.probs.add(Pos{File: disp}, "%s", msg)
		}
		return nil
	}
	l.state[name] = 1
	l.files = append(l.files, name)
	l.sources[name] = src
	f, p := parseFlow(disp, FlowName(name), src, l.opts, &l.probs)
	if f == nil {
		l.state[name] = 2
		return nil
	}
	l.flows[name] = f
	l.order = append(l.order, f)
	for _, n := range p.subRefs {
		sub := l.resolve(path.Dir(name), n.Flow)
		switch {
		case sub == "":
			l.probs.add(n.Pos, "flow %q: neither %s.yaml nor %s.yml exists", n.Flow, n.Flow, n.Flow)
		case l.state[sub] == 1:
			l.probs.add(n.Pos, "flow %s calls itself (through %s): sub-flows may not recurse", n.Flow, f.Name)
		case l.state[sub] == 2:
			n.sub = l.flows[sub]
		case len(l.files) >= maxFlows:
			l.probs.add(n.Pos, "more than %d flow files", maxFlows)
		default:
			n.sub = l.load(sub, n)
		}
	}
	l.state[name] = 2
	return f
}

func (l *loader) resolve(dir, flow string) string {
	for _, ext := range []string{".yaml", ".yml"} {
		name := path.Join(dir, flow+ext)
		if st, err := fs.Stat(l.fsys, name); err == nil && !st.IsDir() {
			return name
		}
	}
	return ""
}

// LoadOptions reads a prompts file and a queries file from disk; an empty
// path skips that file.
func LoadOptions(promptsFile, queriesFile string) (Options, error) {
	var o Options
	var errs Problems
	if promptsFile != "" {
		src, err := os.ReadFile(promptsFile)
		if err != nil {
			return o, fmt.Errorf("prompts: %w", err)
		}
		p, err := ParsePrompts(promptsFile, src)
		var ps Problems
		if errors.As(err, &ps) {
			errs = append(errs, ps...)
		} else if err != nil {
			return o, err
		}
		o.Prompts = p
	}
	if queriesFile != "" {
		src, err := os.ReadFile(queriesFile)
		if err != nil {
			return o, fmt.Errorf("queries: %w", err)
		}
		q, err := ParseQueries(queriesFile, src)
		var ps Problems
		if errors.As(err, &ps) {
			errs = append(errs, ps...)
		} else if err != nil {
			return o, err
		}
		o.Queries = q
	}
	return o, errs.err()
}
