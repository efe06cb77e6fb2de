package flow

import (
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a Secret prints as, everywhere.
const Redacted = "[redacted]"

// Secret holds digits a caller keyed into a collect node with secret:
// true (a password, a card number). It never prints its value: String,
// Format (every verb), MarshalJSON, MarshalText and LogValue all give
// "[redacted]". Expressions may ask its length (x.Len()) and compare two
// secrets (x.Equal(y)); lookups may pass it to a query as a parameter.
// Only RevealSecret gives the digits, for the code that hands them to the
// database.
type Secret struct {
	v string
}

// String implements fmt.Stringer with the redacted form.
func (s Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer with the redacted form.
func (s Secret) GoString() string { return "flow.Secret{" + Redacted + "}" }

// Format implements fmt.Formatter: every verb prints the redacted form.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// MarshalJSON implements json.Marshaler with the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler with the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue implements slog.LogValuer with the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Len is the number of digits.
func (s Secret) Len() int { return len(s.v) }

// Equal reports whether two secrets hold the same digits, in constant
// time for equal lengths.
func (s Secret) Equal(o Secret) bool {
	return len(s.v) == len(o.v) && subtle.ConstantTimeCompare([]byte(s.v), []byte(o.v)) == 1
}

// RevealSecret returns the digits of s. Only code that hands the value to
// its consumer (a database parameter) calls it; never log or store what it
// returns.
func RevealSecret(s Secret) string { return s.v }
