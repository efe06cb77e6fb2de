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
			f.Body = make([]byte, n)
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
		name, value, ok := splitHeader(line)
		if !ok {
			bad = ErrBadHeader
			continue
		}
		hdrs = append(hdrs, Header{Name: name, Value: value})
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// splitHeader splits "Name: value" the way mod_event_socket.c does
// (name up to the first ':', spaces after it skipped).
func splitHeader(line []byte) (string, string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", "", false
	}
	v := line[i+1:]
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	return string(line[:i]), string(v), true
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
// either "\n" or "Content-Length: N\n\n" and N bytes of body.
func ParseEvent(b []byte) (*Event, error) {
	ev := &Event{Headers: make(Headers, 0, 48)}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		name, value, ok := splitHeader(line)
		if !ok {
			return nil, fmt.Errorf("%w: line %q has no ':'", ErrEvent, truncate(line, 80))
		}
		ev.Headers = append(ev.Headers, Header{Name: name, Value: urlDecode(value)})
	}
	if len(ev.Headers) == 0 {
		return nil, fmt.Errorf("%w: no headers", ErrEvent)
	}
	if cl, ok := ev.Headers.Lookup("Content-Length"); ok {
		n, err := parseLength(cl, len(b))
		if err != nil {
			return nil, fmt.Errorf("%w: body Content-Length %q with %d bytes left", ErrEvent, cl, len(b))
		}
		ev.Body = b[:n:n]
	}
	if ev.Name() == "" {
		return nil, fmt.Errorf("%w: no Event-Name", ErrEvent)
	}
	return ev, nil
}

// urlDecode undoes switch_url_encode: %XX escapes only ('+' is a plus).
// An invalid escape is kept as it is.
func urlDecode(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					b.WriteByte(h<<4 | l)
					i += 2
					continue
				}
			}
		}
		b.WriteByte(c)
	}
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
