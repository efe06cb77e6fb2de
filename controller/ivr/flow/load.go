package flow

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Options are what a flow is checked against.
type Options struct {
	// Prompts are the defined prompt names; nil: prompt names are not
	// checked.
	Prompts *Prompts
	// Queries are the named SQL queries lookup nodes may run.
	Queries *Queries
}

// Program is a flow compiled with every sub-flow it references. It is
// immutable: any number of calls may run it at once.
type Program struct {
	Main  *Flow
	flows []*Flow // main first, then sub-flows in the order referenced
	files []string
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
	l := &loader{fsys: fsys, opts: opts, flows: map[string]*Flow{}, state: map[string]int{}}
	main := l.load(name, nil)
	if err := l.probs.err(); err != nil {
		return nil, err
	}
	if main == nil {
		return nil, errors.New("flow: nothing loaded")
	}
	return &Program{Main: main, flows: l.order, files: l.files}, nil
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
