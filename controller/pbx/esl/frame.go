package esl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Content types FreeSWITCH sends (mod_event_socket.c).
const (
	TypeAuthRequest = "auth/request"
	TypeReply       = "command/reply"
	TypeAPIResponse = "api/response"
	TypeEventPlain  = "text/event-plain"
	TypeEventJSON   = "text/event-json"
	TypeEventXML    = "text/event-xml"
	TypeDisconnect  = "text/disconnect-notice"
	TypeRude        = "text/rude-rejection"
	TypeLogData     = "log/data"
)

// Limits bound what one frame may make the parser hold.
type Limits struct {
	// MaxHeaderBytes bounds one frame's header block (default 64 KiB).
	MaxHeaderBytes int
	// MaxBody bounds a Content-Length (default 16 MiB, the bound
	// mod_event_socket.c applies to what it reads: MAX_CONTENT_LENGTH).
	MaxBody int
}

// DefaultLimits are the limits used when a Limits field is zero.
var DefaultLimits = Limits{MaxHeaderBytes: 64 << 10, MaxBody: 16 << 20}

func (l Limits) orDefault() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultLimits.MaxHeaderBytes
	}
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultLimits.MaxBody
	}
	return l
}

// Header is one "Name: value" line.
type Header struct {
	Name, Value string
}

// Headers keeps a header block in wire order.
type Headers []Header

// Get returns the first value of name (case-insensitive), or "".
func (h Headers) Get(name string) string {
	v, _ := h.Lookup(name)
	return v
}

// Lookup returns the first value of name (case-insensitive).
func (h Headers) Lookup(name string) (string, bool) {
	for _, x := range h {
		if len(x.Name) == len(name) && strings.EqualFold(x.Name, name) {
			return x.Value, true
		}
	}
	return "", false
}

// Frame is one message on the socket: its header block and body.
type Frame struct {
	// Offset is where the frame starts in the stream.
	Offset      int64
	ContentType string
	// Headers are as sent: the outer block is not URL-encoded by
	// FreeSWITCH (Reply-Text carries plain text).
	Headers Headers
	Body    []byte
}

// ReplyText is Reply-Text for command/reply and the body for
// api/response, without the trailing newline.
func (f *Frame) ReplyText() string {
	if f.ContentType == TypeReply {
		return f.Headers.Get("Reply-Text")
	}
	return strings.TrimRight(string(f.Body), "\n")
}

// FrameError is a framing failure at Offset. When Resumable is true the
// Reader has skipped the bad frame and Next may be called again.
type FrameError struct {
	Offset    int64
	Resumable bool
	Err       error
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("esl: frame at byte %d: %v", e.Offset, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

// Errors a FrameError wraps.
var (
	ErrHeaderTooLarge = errors.New("header block too large")
	ErrBodyTooLarge   = errors.New("Content-Length above limit")
	ErrBadLength      = errors.New("Content-Length is not a number")
	ErrBadHeader      = errors.New("header line without ':'")
	ErrTruncated      = errors.New("stream ended inside a frame")
	ErrNoContentType  = errors.New("frame without Content-Type")
)

// Reader reads frames from an ESL byte stream. It is not safe for
// concurrent use.
type Reader struct {
	br     *bufio.Reader
	lim    Limits
	off    int64
	failed error // a non-resumable error ends the stream

	// reuseEventBodies: the body of a text/event-plain frame is read into
	// a buffer the next call reuses. Only Conn sets it: it decodes each
	// event (copying what it keeps) before reading the next frame.
	reuseEventBodies bool
	scratch          []byte
}

// NewReader returns a Reader on r with lim (zero fields take defaults).
func NewReader(r io.Reader, lim Limits) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), lim: lim.orDefault()}
}

// Next returns the next frame. At a clean end of stream it returns
// io.EOF; otherwise errors are *FrameError.
func (r *Reader) Next() (*Frame, error) {
	if r.failed != nil {
		return nil, r.failed
	}
	start := r.off
	hdrs, n, err := r.readHeaderBlock()
	if err != nil {
		if errors.Is(err, io.EOF) && n == 0 {
			r.failed = io.EOF
			return nil, io.EOF
		}
		return nil, r.fail(start, err)
	}
	f := &Frame{Offset: start, Headers: hdrs, ContentType: hdrs.Get("Content-Type")}
	if cl, ok := hdrs.Lookup("Content-Length"); ok {
		n, err := parseLength(cl, r.lim.MaxBody)
		if err != nil {
			// The body's extent is unknown: the stream cannot be
			// re-framed from here.
			return nil, r.fail(start, err)
		}
		if n > 0 {
			if r.reuseEventBodies && f.ContentType == TypeEventPlain {
				if cap(r.scratch) < n {
					r.scratch = make([]byte, n+n/4)
				}
				f.Body = r.scratch[:n:n]
			} else {
				f.Body = make([]byte, n)
			}
			m, err := io.ReadFull(r.br, f.Body)
			r.off += int64(m)
			if err != nil {
				return nil, r.fail(start, ErrTruncated)
			}
		}
	}
	if f.ContentType == "" {
		return nil, &FrameError{Offset: start, Resumable: true, Err: ErrNoContentType}
	}
	return f, nil
}

func (r *Reader) fail(off int64, err error) error {
	fe := &FrameError{Offset: off, Err: err}
	if errors.Is(err, ErrBadHeader) {
		// readHeaderBlock consumed the whole block: go on after it.
		fe.Resumable = true
		return fe
	}
	r.failed = fe
	return fe
}

// readHeaderBlock reads lines up to a blank line. Blank lines before the
// first header are skipped (FreeSWITCH never sends them, but a stray
// "\n" must not become an empty frame). n is the bytes consumed.
func (r *Reader) readHeaderBlock() (Headers, int, error) {
	var hdrs Headers
	total := 0
	var bad error
	for {
		line, err := r.br.ReadSlice('\n')
		total += len(line)
		r.off += int64(len(line))
		if err == bufio.ErrBufferFull || total > r.lim.MaxHeaderBytes {
			return nil, total, ErrHeaderTooLarge
		}
		if err != nil {
			if err == io.EOF && total > 0 {
				return nil, total, ErrTruncated
			}
			return nil, total, err
		}
		line = trimEOL(line)
		if len(line) == 0 {
			if len(hdrs) == 0 && bad == nil {
				continue
			}
			if bad != nil {
				return nil, total, bad
			}
			return hdrs, total, nil
		}
		name, value, ok := splitFrameHeader(line)
		if !ok {
			bad = ErrBadHeader
			continue
		}
		if hdrs == nil {
			hdrs = make(Headers, 0, 4) // events have two headers, replies two or three
		}
		hdrs = append(hdrs, Header{Name: name, Value: value})
	}
}

// frameWords are header names and values every frame repeats; splitting
// a frame header returns these strings instead of allocating copies.
var frameWords = []string{"Content-Type", "Content-Length", "Reply-Text", "Job-UUID",
	TypeEventPlain, TypeReply, TypeAPIResponse, TypeAuthRequest, TypeDisconnect, "+OK", "+OK accepted"}

// intern returns b as a string, without allocating when it is one of
// frameWords.
func intern(b []byte) string {
	for _, w := range frameWords {
		if len(w) == len(b) && w == string(b) { // the comparison does not allocate
			return w
		}
	}
	return string(b)
}

// splitFrameHeader splits "Name: value" the way mod_event_socket.c does
// (name up to the first ':', spaces after it skipped).
func splitFrameHeader(line []byte) (string, string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", "", false
	}
	v := line[i+1:]
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	return intern(line[:i]), intern(v), true
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

func parseLength(s string, max int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 10 {
		if len(s) > 10 && strings.Trim(s, "0123456789") == "" {
			return 0, ErrBodyTooLarge
		}
		return 0, ErrBadLength
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, ErrBadLength
	}
	if n > max {
		return 0, ErrBodyTooLarge
	}
	return n, nil
}

// Event is a decoded text/event-plain body.
type Event struct {
	// Headers are URL-decoded, in wire order.
	Headers Headers
	// Body is the event's own body (e.g. a BACKGROUND_JOB's result).
	Body []byte
}

// Name is the Event-Name header.
func (e *Event) Name() string { return e.Headers.Get("Event-Name") }

// Get returns the first value of a header (case-insensitive).
func (e *Event) Get(name string) string { return e.Headers.Get(name) }

// ErrEvent wraps every ParseEvent failure.
var ErrEvent = errors.New("esl: malformed event")

// ParseEvent decodes a text/event-plain body as switch_event_serialize
// (switch_event.c) writes it: "Name: url-encoded-value\n" lines, then
// either "\n" or "Content-Length: N\n\n" and N bytes of body. The event
// shares no memory with b.
func ParseEvent(b []byte) (*Event, error) {
	// Every name and decoded value goes into one string, sliced by
	// offsets: one allocation for all of them (decoding never grows).
	var sb strings.Builder
	sb.Grow(len(b))
	type span struct{ n0, n1, v1 int }
	var stack [64]span // enough for most events without a heap slice
	spans := stack[:0]
	clIdx := -1 // the first Content-Length header
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			break // b is now the body, if any
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			return nil, fmt.Errorf("%w: line %q has no ':'", ErrEvent, truncate(line, 80))
		}
		v := line[c+1:]
		for len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		n0 := sb.Len()
		sb.Write(line[:c])
		n1 := sb.Len()
		if clIdx < 0 && c == len("Content-Length") && bytes.EqualFold(line[:c], contentLength) {
			clIdx = len(spans)
		}
		if hasPercent(v) {
			appendURLDecoded(&sb, v)
		} else {
			sb.Write(v)
		}
		spans = append(spans, span{n0, n1, sb.Len()})
	}
	if len(spans) == 0 {
		return nil, fmt.Errorf("%w: no headers", ErrEvent)
	}
	all := sb.String()
	ev := &Event{Headers: make(Headers, len(spans))}
	for i, sp := range spans {
		ev.Headers[i] = Header{Name: all[sp.n0:sp.n1], Value: all[sp.n1:sp.v1]}
	}
	if clIdx >= 0 {
		cl := ev.Headers[clIdx].Value
		n, err := parseLength(cl, len(b))
		if err != nil {
			return nil, fmt.Errorf("%w: body Content-Length %q with %d bytes left", ErrEvent, cl, len(b))
		}
		if n > 0 {
			ev.Body = append(make([]byte, 0, n), b[:n]...)
		}
	}
	if ev.Name() == "" {
		return nil, fmt.Errorf("%w: no Event-Name", ErrEvent)
	}
	return ev, nil
}

var contentLength = []byte("Content-Length")

// hasPercent reports whether v holds a '%'; values are short, where a
// plain loop beats a call to bytes.IndexByte.
func hasPercent(v []byte) bool {
	for _, c := range v {
		if c == '%' {
			return true
		}
	}
	return false
}

// appendURLDecoded writes v with switch_url_encode undone: %XX escapes
// only ('+' is a plus); an invalid escape is kept as it is.
func appendURLDecoded(sb *strings.Builder, v []byte) {
	for {
		i := bytes.IndexByte(v, '%')
		if i < 0 {
			sb.Write(v)
			return
		}
		sb.Write(v[:i])
		v = v[i:]
		if len(v) > 2 {
			if h, ok := unhex(v[1]); ok {
				if l, ok := unhex(v[2]); ok {
					sb.WriteByte(h<<4 | l)
					v = v[3:]
					continue
				}
			}
		}
		sb.WriteByte('%')
		v = v[1:]
	}
}

// urlDecode undoes switch_url_encode: %XX escapes only ('+' is a plus).
// An invalid escape is kept as it is.
func urlDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	appendURLDecoded(&b, []byte(s))
	return b.String()
}

// URLDecode is urlDecode for callers outside the package (the CLI).
func URLDecode(s string) string { return urlDecode(s) }

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// urlEncode is switch_url_encode (switch_utils.c): bytes outside
// ' '..'~' and SWITCH_URL_UNSAFE become %XX; an existing %XX is kept.
func urlEncode(s string) string {
	const unsafe = "\r\n #%&+:;<=>?@[\\]^`{|}\""
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(c)
			continue
		}
		if c < ' ' || c > '~' || strings.IndexByte(unsafe, c) >= 0 {
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// URLEncode is switch_url_encode, for the test server.
func URLEncode(s string) string { return urlEncode(s) }

func isHex(c byte) bool { _, ok := unhex(c); return ok }

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
