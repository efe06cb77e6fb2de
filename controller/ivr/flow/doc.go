// Package flow is hotline's IVR flow language: flows written as YAML files
// (ivr-scripts/*.yaml), checked with every problem at file:line:col,
// compiled once into an immutable Program, and run per call on a Session
// with a few KiB of state. Expressions are expr-lang/expr, compiled
// against each flow's typed variables. The operator's rules (no input,
// invalid input, zero-out, emergency notices first) are built in; secret
// entries never reach the trail. The same Program runs on a live switch,
// in the simulator (FakeSession, Fixtures) and in flow tests
// (<flow>_test.yaml). docs/ivr.md is the language reference.
package flow
