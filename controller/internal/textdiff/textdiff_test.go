package textdiff

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	abc := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	for _, tt := range []struct {
		name string
		a, b string
		want string
	}{
		{"equal", abc, abc, ""},
		{"both empty", "", "", ""},
		{
			"two hunks, no newline at end", abc, strings.Replace(abc, "b\n", "B\n", 1) + "n",
			"@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n" +
				"@@ -11,3 +11,4 @@\n k\n l\n m\n+n\n\\ No newline at end of file\n",
		},
		{"from empty", "", "x\ny\n", "@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{"to empty", "x\ny\n", "", "@@ -1,2 +0,0 @@\n-x\n-y\n"},
		{
			// Changes 3 equal lines apart share a hunk (gap <= 2*context).
			"one hunk", "a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nX\ne\nf\ng\nY\n",
			"@@ -1,8 +1,8 @@\n a\n b\n c\n-d\n+X\n e\n f\n g\n-h\n+Y\n",
		},
		{
			"insert in the middle", "a\nb\nc\nd\ne\nf\ng\nh\ni\n", "a\nb\nc\nd\nnew\ne\nf\ng\nh\ni\n",
			"@@ -2,6 +2,7 @@\n b\n c\n d\n+new\n e\n f\n g\n",
		},
		{"newline added at end", "a\nb", "a\nb\n", "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"},
	} {
		got := Unified("old", "new", []byte(tt.a), []byte(tt.b), 3)
		want := tt.want
		if want != "" {
			want = "--- old\n+++ new\n" + want
		}
		if got != want {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", tt.name, got, want)
		}
	}
}

func TestUnifiedContextZero(t *testing.T) {
	got := Unified("a", "b", []byte("1\n2\n3\n"), []byte("1\nX\n3\n"), 0)
	if want := "--- a\n+++ b\n@@ -2 +2 @@\n-2\n+X\n"; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestLines(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a\n"}},
		{"a\n\nb", []string{"a\n", "\n", "b"}},
	} {
		if got := Lines(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Lines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// lcs is the length of a longest common subsequence, by dynamic
// programming: a shortest edit script has len(a)+len(b)-2*lcs edits.
func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func TestDiffIsAShortestEditScript(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() []string {
		n := r.IntN(30)
		ls := make([]string, n)
		for i := range ls {
			ls[i] = string(rune('a'+r.IntN(4))) + "\n"
		}
		return ls
	}
	for i := range 3000 {
		a, b := gen(), gen()
		if i%5 == 0 { // similar texts, the usual case
			b = slices.Clone(a)
			if len(b) > 0 {
				b[r.IntN(len(b))] = "z\n"
			}
		}
		edits := Diff(a, b)
		var ga, gb []string
		changes := 0
		for _, e := range edits {
			if e.Op != Insert {
				ga = append(ga, e.Line)
			}
			if e.Op != Delete {
				gb = append(gb, e.Line)
			}
			if e.Op != Equal {
				changes++
			}
		}
		if !slices.Equal(ga, a) || !slices.Equal(gb, b) {
			t.Fatalf("Diff(%q, %q) = %v does not turn a into b", a, b, edits)
		}
		if want := len(a) + len(b) - 2*lcs(a, b); changes != want {
			t.Fatalf("Diff(%q, %q) has %d changes, shortest has %d", a, b, changes, want)
		}
	}
}

// applyUnified applies a unified diff made by Unified to a, checking every
// context and deleted line, so the rendered hunks are checked too.
func applyUnified(t *testing.T, a, diff string) string {
	t.Helper()
	if diff == "" {
		return a
	}
	src := Lines(a)
	var out []string
	pos := 0
	ls := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")[2:]
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		noEOL := i+1 < len(ls) && ls[i+1] == `\ No newline at end of file`
		body := l[1:]
		if !noEOL {
			body += "\n"
		}
		switch l[0] {
		case '@':
			var as, ac, bs, bc int
			h := strings.NewReplacer(",", " ", "-", "", "+", "", "@@", "").Replace(l)
			f := strings.Fields(h)
			switch len(f) {
			case 4:
				as, ac, bs, bc = atoi(f[0]), atoi(f[1]), atoi(f[2]), atoi(f[3])
			default:
				t.Fatalf("hunk header %q: want the long form in this test", l)
			}
			start := as - 1
			if ac == 0 {
				start = as
			}
			out = append(out, src[pos:start]...)
			pos = start
			if wantB := len(out) + min(bc, 1); bs != wantB {
				t.Fatalf("hunk %q: new side starts at %d, want %d", l, bs, wantB)
			}
		case ' ', '-':
			if pos >= len(src) || src[pos] != body {
				t.Fatalf("line %q does not match the old text at %d in\n%s", l, pos, diff)
			}
			if l[0] == ' ' {
				out = append(out, body)
			}
			pos++
		case '+':
			out = append(out, body)
		case '\\':
		default:
			t.Fatalf("bad diff line %q", l)
		}
	}
	return strings.Join(append(out, src[pos:]...), "")
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestUnifiedApplies(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gen := func() string {
		var sb strings.Builder
		for range r.IntN(40) {
			sb.WriteByte(byte('a' + r.IntN(3)))
			sb.WriteByte('\n')
		}
		if r.IntN(4) == 0 {
			sb.WriteString("tail")
		}
		return sb.String()
	}
	for range 2000 {
		a, b := gen(), gen()
		// Long-form headers only (counts always written) keep the test's
		// parser simple: rewrite "-N " to "-N,1 ".
		d := Unified("a", "b", []byte(a), []byte(b), r.IntN(4))
		d = longHeaders(d)
		if got := applyUnified(t, a, d); got != b {
			t.Fatalf("applying\n%s\nto %q gave %q, want %q", d, a, got, b)
		}
	}
}

func longHeaders(d string) string {
	ls := strings.Split(d, "\n")
	for i, l := range ls {
		if !strings.HasPrefix(l, "@@ ") {
			continue
		}
		f := strings.Fields(l) // @@ -a[,b] +c[,d] @@
		for j := 1; j <= 2; j++ {
			if !strings.Contains(f[j], ",") {
				f[j] += ",1"
			}
		}
		ls[i] = strings.Join(f, " ")
	}
	return strings.Join(ls, "\n")
}
