package flow

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

// VarType is the type of a call variable.
type VarType int

// Variable types.
const (
	TypeString VarType = iota + 1
	TypeInt
	TypeFloat
	TypeBool
	TypeSecret
	TypeTime
	TypeLookup // a lookup result: found plus typed columns
)

func (t VarType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeFloat:
		return "float"
	case TypeBool:
		return "bool"
	case TypeSecret:
		return "secret"
	case TypeTime:
		return "time"
	case TypeLookup:
		return "lookup result"
	}
	return "unknown"
}

var (
	secretType = reflect.TypeOf(Secret{})
	timeType   = reflect.TypeOf(time.Time{})
)

func (t VarType) exprType() types.Type {
	switch t {
	case TypeString:
		return types.String
	case TypeInt:
		return types.Int
	case TypeFloat:
		return types.Float64
	case TypeBool:
		return types.Bool
	case TypeSecret:
		return types.TypeOf(Secret{})
	case TypeTime:
		return types.TypeOf(time.Time{})
	}
	return types.Any
}

// zero is the initial value of a variable of type t.
func (t VarType) zero() any {
	switch t {
	case TypeString:
		return ""
	case TypeInt:
		return 0
	case TypeFloat:
		return 0.0
	case TypeBool:
		return false
	case TypeSecret:
		return Secret{}
	case TypeTime:
		return time.Time{}
	}
	return nil
}

// typeOfResult maps an expression's static result type to a VarType (0
// when it is none of them, e.g. an untyped value).
func typeOfResult(t reflect.Type) VarType {
	if t == nil {
		return 0
	}
	switch {
	case t == secretType:
		return TypeSecret
	case t == timeType:
		return TypeTime
	}
	switch t.Kind() {
	case reflect.String:
		return TypeString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return TypeInt
	case reflect.Float32, reflect.Float64:
		return TypeFloat
	case reflect.Bool:
		return TypeBool
	}
	return 0
}

func (r *reader) varType(n *yaml.Node, what string) (VarType, bool) {
	s, ok := r.str(n, what)
	if !ok {
		return 0, false
	}
	switch s {
	case "string":
		return TypeString, true
	case "int":
		return TypeInt, true
	case "float":
		return TypeFloat, true
	case "bool":
		return TypeBool, true
	}
	r.errf(n, "%s: type %q is not string, int, float or bool", what, s)
	return 0, false
}

// Expression limits: source length, syntax-tree size and the memory one
// evaluation may allocate (expr's VM budget, counted in its units).
const (
	MaxExprLen    = 1024
	maxExprNodes  = 256
	exprMemBudget = 10000
)

// builtins expressions may use: pure, bounded functions over the call's
// values. Time comes from the call variable now, never from the wall
// clock.
var builtins = []string{
	"len", "abs", "ceil", "floor", "round", "int", "float", "string",
	"trim", "trimPrefix", "trimSuffix", "upper", "lower", "hasPrefix", "hasSuffix",
	"indexOf", "lastIndexOf", "split", "replace", "join", "max", "min",
	"all", "none", "any", "one", "filter", "map", "count",
}

// Expr is an expression compiled against its flow's typed variables.
type Expr struct {
	Src  string
	Pos  Pos
	Type VarType
	prog *vm.Program
}

// exprErr is a compile error with its position inside the expression.
type exprErr struct {
	col int // 1-based column within the source, 0 when unknown
	msg string
}

func (e *exprErr) Error() string { return e.msg }

// compileExpr compiles src against env. want is the required result type
// (0: any of the known types).
func compileExpr(src string, env types.Map, want VarType) (*vm.Program, VarType, error) {
	if len(src) > MaxExprLen {
		return nil, 0, &exprErr{msg: fmt.Sprintf("expression is %d characters, more than %d", len(src), MaxExprLen)}
	}
	if strings.TrimSpace(src) == "" {
		return nil, 0, &exprErr{msg: "expression is empty"}
	}
	opts := []expr.Option{expr.Env(env), expr.DisableAllBuiltins(), expr.MaxNodes(maxExprNodes)}
	for _, b := range builtins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	switch want {
	case TypeBool:
		opts = append(opts, expr.AsBool())
	case TypeInt:
		opts = append(opts, expr.AsInt())
	case TypeFloat:
		opts = append(opts, expr.AsFloat64())
	case TypeString:
		opts = append(opts, expr.AsKind(reflect.String))
	}
	prog, err := compileSafely(src, opts)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, 0, &exprErr{col: fe.Column + 1, msg: fe.Message}
		}
		return nil, 0, &exprErr{msg: err.Error()}
	}
	if bad := forbidden(prog.Node()); bad != "" {
		return nil, 0, &exprErr{msg: bad}
	}
	got := typeOfResult(prog.Node().Type())
	if want == TypeFloat && got == TypeInt {
		got = TypeFloat
	}
	if want != 0 && got != want {
		if got == 0 {
			return nil, 0, &exprErr{msg: fmt.Sprintf("expression's type is unknown, want %s", want)}
		}
		return nil, 0, &exprErr{msg: fmt.Sprintf("expression is %s, want %s", got, want)}
	}
	if got == 0 {
		return nil, 0, &exprErr{msg: "expression's type is not string, int, float, bool or secret"}
	}
	return prog, got, nil
}

// compileSafely turns a panic inside the expression compiler (hostile
// input) into an error.
func compileSafely(src string, opts []expr.Option) (prog *vm.Program, err error) {
	defer func() {
		if p := recover(); p != nil {
			prog, err = nil, fmt.Errorf("expression does not compile: %v", p)
		}
	}()
	return expr.Compile(src, opts...)
}

// forbidden rejects constructs a flow has no use for: variable
// declarations (let), which would let an expression build large values
// step by step.
func forbidden(n ast.Node) string {
	v := &forbidVisitor{}
	ast.Walk(&n, v)
	return v.msg
}

type forbidVisitor struct{ msg string }

func (v *forbidVisitor) Visit(n *ast.Node) {
	if v.msg != "" {
		return
	}
	if _, ok := (*n).(*ast.VariableDeclaratorNode); ok {
		v.msg = "let is not allowed in flow expressions"
	}
}

// exprPos is where an expression error is: the YAML scalar's position plus
// the column inside the expression when the scalar is on one line.
func exprPos(base Pos, n *yaml.Node, e error) Pos {
	var ee *exprErr
	if !errors.As(e, &ee) || ee.col == 0 || n == nil || strings.Contains(n.Value, "\n") {
		return base
	}
	switch n.Style {
	case 0:
		base.Col += ee.col - 1
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		base.Col += ee.col
	}
	return base
}
