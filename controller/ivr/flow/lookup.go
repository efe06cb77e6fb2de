package flow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// LookupRequest is one lookup a flow makes: a named SQL query with its
// arguments, or an HTTP GET.
type LookupRequest struct {
	// Name is the query's name, or for an HTTP lookup the URL without
	// its query string, or the endpoint's name followed by the path
	// ("broadband_status/v1/line"): the key fixtures use.
	Name  string
	Query *Query // SQL lookups
	Args  []any  // SQL arguments in $1.. order; Secret values stay wrapped
	// URL is, for an HTTP lookup with url:, the full URL with the
	// parameters encoded; for one with endpoint:, the path with the
	// parameters encoded, to follow the endpoint's base URL.
	URL string
	// Endpoint is the named endpoint (hotline's ivr.http_endpoints) of an
	// HTTP lookup with endpoint:; "" otherwise.
	Endpoint string
	// Fields are the result fields the flow uses, with their types.
	Fields []Column
}

// Row is a lookup's result: Found is false when the query returned no
// row or the HTTP server answered 404.
type Row struct {
	Found  bool
	Values map[string]any
}

// Lookups runs lookups. A returned error (including the context's
// deadline: each lookup has a timeout) sends the flow to the node's
// on_error branch.
type Lookups interface {
	Lookup(ctx context.Context, req LookupRequest) (Row, error)
}

// MaxHTTPBody bounds an HTTP lookup's response body.
const MaxHTTPBody = 64 << 10

// DBLookups runs SQL lookups on a database (read-only transactions unless
// the query says write: true) and HTTP lookups with an HTTP client.
type DBLookups struct {
	DB   *sql.DB
	HTTP *http.Client // nil: http.DefaultClient
	// Endpoints are the installation's named HTTP endpoints (hotline's
	// ivr.http_endpoints): name → base URL. A lookup naming one that is
	// not here fails.
	Endpoints map[string]string
}

// Lookup implements Lookups.
func (l *DBLookups) Lookup(ctx context.Context, req LookupRequest) (Row, error) {
	if req.Query != nil {
		return l.query(ctx, req)
	}
	if req.URL != "" || req.Endpoint != "" {
		return l.get(ctx, req)
	}
	return Row{}, errors.New("lookup: neither a query nor a URL")
}

// EndpointURL joins an endpoint's base URL and a lookup's path (with its
// encoded parameters): "https://bb.example/api" (or ".../api/") and
// "/v1/line?number=1" give "https://bb.example/api/v1/line?number=1". With
// no path the base URL is used as it is.
func EndpointURL(base, path string) string {
	if strings.HasPrefix(path, "/") {
		return strings.TrimRight(base, "/") + path
	}
	return base + path
}

func (l *DBLookups) query(ctx context.Context, req LookupRequest) (Row, error) {
	if l.DB == nil {
		return Row{}, errors.New("lookup: no database")
	}
	args := make([]any, len(req.Args))
	for i, a := range req.Args {
		if s, ok := a.(Secret); ok {
			a = RevealSecret(s)
		}
		args[i] = a
	}
	tx, err := l.DB.BeginTx(ctx, &sql.TxOptions{ReadOnly: !req.Query.Write})
	if err != nil {
		return Row{}, fmt.Errorf("lookup %s: %w", req.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	rows, err := tx.QueryContext(ctx, req.Query.SQL, args...)
	if err != nil {
		return Row{}, fmt.Errorf("lookup %s: %w", req.Name, err)
	}
	row, err := scanFirst(rows, req.Fields)
	if err != nil {
		return Row{}, fmt.Errorf("lookup %s: %w", req.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return Row{}, fmt.Errorf("lookup %s: %w", req.Name, err)
	}
	return row, nil
}

// scanFirst reads the first row's declared columns, converting them to
// their declared types.
func scanFirst(rows *sql.Rows, fields []Column) (Row, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Row{}, err
	}
	if !rows.Next() {
		return Row{Values: map[string]any{}}, rows.Err()
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return Row{}, err
	}
	got := make(map[string]any, len(cols))
	for i, c := range cols {
		got[c] = vals[i]
	}
	out := Row{Found: true, Values: make(map[string]any, len(fields))}
	for _, f := range fields {
		v, ok := got[f.Name]
		if !ok {
			return Row{}, fmt.Errorf("the result has no column %q", f.Name)
		}
		cv, err := convert(v, f.Type)
		if err != nil {
			return Row{}, fmt.Errorf("column %s: %w", f.Name, err)
		}
		out.Values[f.Name] = cv
	}
	// Drain so a second row's error surfaces; only the first is used.
	for rows.Next() {
	}
	return out, rows.Err()
}

// convert turns a database or JSON value into the Go value of type t. A
// NULL becomes the zero value.
func convert(v any, t VarType) (any, error) {
	if v == nil {
		return t.zero(), nil
	}
	switch t {
	case TypeString:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int, int64, float64, bool:
			return fmt.Sprint(x), nil
		case time.Time:
			return x.Format("2006-01-02"), nil
		}
	case TypeInt:
		switch x := v.(type) {
		case int64:
			return int(x), nil
		case int:
			return x, nil
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, fmt.Errorf("%v is not a whole number", x)
			}
			return int(x), nil
		case []byte:
			n, err := strconv.Atoi(string(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", x)
			}
			return n, nil
		}
	case TypeFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		case []byte:
			f, err := strconv.ParseFloat(string(x), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", x)
			}
			return f, nil
		}
	case TypeBool:
		if x, ok := v.(bool); ok {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%T value is not a %s", v, t)
}

func (l *DBLookups) get(ctx context.Context, req LookupRequest) (Row, error) {
	target := req.URL
	if req.Endpoint != "" {
		base, ok := l.Endpoints[req.Endpoint]
		if !ok {
			return Row{}, fmt.Errorf("lookup %s: HTTP endpoint %q is not configured (ivr.http_endpoints)", req.Name, req.Endpoint)
		}
		target = EndpointURL(base, req.URL)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Row{}, fmt.Errorf("lookup %s: %w", req.Name, err)
	}
	hreq.Header.Set("Accept", "application/json")
	c := l.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(hreq)
	if err != nil {
		return Row{}, fmt.Errorf("lookup %s: %w", req.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxHTTPBody+1))
	if err != nil {
		return Row{}, fmt.Errorf("lookup %s: %w", req.Name, err)
	}
	row, err := DecodeHTTP(resp.StatusCode, body, req.Fields)
	if err != nil {
		return Row{}, fmt.Errorf("lookup %s: %w", req.Name, err)
	}
	return row, nil
}

// DecodeHTTP turns an HTTP lookup's response into a Row: 200 with a JSON
// object → found, its declared fields converted (missing ones are zero);
// 404 → not found; anything else is an error.
func DecodeHTTP(status int, body []byte, fields []Column) (Row, error) {
	switch {
	case status == http.StatusNotFound:
		return Row{Values: map[string]any{}}, nil
	case status != http.StatusOK:
		return Row{}, fmt.Errorf("HTTP status %d", status)
	case len(body) > MaxHTTPBody:
		return Row{}, fmt.Errorf("response body over %d bytes", MaxHTTPBody)
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return Row{}, errors.New("response is not a JSON object")
	}
	out := Row{Found: true, Values: make(map[string]any, len(fields))}
	for _, f := range fields {
		v, ok := obj[f.Name]
		if !ok {
			out.Values[f.Name] = f.Type.zero()
			continue
		}
		if _, isStr := v.(string); (f.Type == TypeString) != isStr && v != nil {
			return Row{}, fmt.Errorf("field %s: JSON %T is not a %s", f.Name, v, f.Type)
		}
		cv, err := convert(v, f.Type)
		if err != nil {
			return Row{}, fmt.Errorf("field %s: %w", f.Name, err)
		}
		out.Values[f.Name] = cv
	}
	return out, nil
}
