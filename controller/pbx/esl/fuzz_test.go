package esl

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzReader: any bytes give frames or errors, never a panic or a hang;
// sizes stay within the limits.
func FuzzReader(f *testing.F) {
	if data, err := os.ReadFile("testdata/capture.esl"); err == nil {
		f.Add(data)
		if len(data) > 3000 {
			f.Add(data[:3000]) // truncated mid-frame
		}
	}
	f.Add([]byte("Content-Type: api/response\nContent-Length: 3\n\n+OK"))
	f.Add([]byte("Content-Type: text/event-plain\nContent-Length: 99999999999\n\n"))
	f.Add([]byte("Content-Length: 40\nContent-Type: text/event-plain\n\nEvent-Name: X\nContent-Length: 5\n\nhello"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), Limits{MaxHeaderBytes: 4096, MaxBody: 1 << 16})
		for range 10000 {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var fe *FrameError
			if err != nil {
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a *FrameError", err)
				}
				if !fe.Resumable {
					return
				}
				continue
			}
			if len(fr.Body) > 1<<16 {
				t.Fatalf("body of %d bytes above limit", len(fr.Body))
			}
			if ev, err := ParseEvent(fr.Body); err == nil && len(ev.Body) > len(fr.Body) {
				t.Fatal("event body longer than frame body")
			}
		}
		t.Fatal("10000 frames from one input: the reader is not advancing")
	})
}

// FuzzURLDecode: decoding never panics and undoes encoding.
func FuzzURLDecode(f *testing.F) {
	f.Add("2026-11-23 12:22:28")
	f.Add("%3A%3A1%")
	f.Add("100%zz")
	f.Fuzz(func(t *testing.T, s string) {
		urlDecode(s)
		if !bytes.Contains([]byte(s), []byte("%")) {
			if got := urlDecode(urlEncode(s)); got != s {
				t.Fatalf("decode(encode(%q)) = %q", s, got)
			}
		}
	})
}
