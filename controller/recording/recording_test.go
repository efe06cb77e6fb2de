package recording

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wav writes a PCM WAV of the given seconds at 8 kHz, 16-bit mono, the
// format Asterisk records in, optionally with a lying data size.
func wav(t *testing.T, seconds float64, claim int) string {
	t.Helper()
	n := int(seconds * 16000)
	b := make([]byte, 0, 44+n)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+n))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1)     // PCM
	b = binary.LittleEndian.AppendUint16(b, 1)     // mono
	b = binary.LittleEndian.AppendUint32(b, 8000)  // rate
	b = binary.LittleEndian.AppendUint32(b, 16000) // byte rate
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	if claim < 0 {
		claim = n
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(claim))
	b = append(b, make([]byte, n)...)
	p := filepath.Join(t.TempDir(), "r.wav")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	p := wav(t, 12.5, -1)
	c := Verify(p, 12.2, 1)
	if !c.OK || c.Seconds != 12.5 || c.SampleRate != 8000 || c.Bytes != 44+200000 {
		t.Fatalf("good file: %+v", c)
	}
	if c := Verify(p, 20, 1); c.OK || !strings.Contains(c.Problem, "holds 12.50 s of audio, the call was bridged 20.00 s") {
		t.Fatalf("short recording passed: %+v", c)
	}
	// The 44-byte file: a header and nothing behind it.
	if c := Verify(wav(t, 0, -1), 30, 1); c.OK {
		t.Fatalf("empty recording passed: %+v", c)
	}
	if c := Verify(wav(t, 1, 999999), 1, 1); c.OK || !strings.Contains(c.Problem, "claims 999999 audio bytes") {
		t.Fatalf("truncated file passed: %+v", c)
	}
	bad := filepath.Join(t.TempDir(), "x.wav")
	_ = os.WriteFile(bad, []byte("this is not audio at all, not at all"), 0o600)
	if _, err := ReadWAV(bad); !errors.Is(err, ErrNotWAV) {
		t.Fatalf("garbage: %v", err)
	}
	if c := Verify(filepath.Join(t.TempDir(), "missing.wav"), 1, 1); c.OK || !strings.Contains(c.Problem, "no such file") {
		t.Fatalf("missing file: %+v", c)
	}
}

// A call whose hang-up went unnoticed was bridged somewhere between two
// times: a file inside that range passes, one outside fails and says so.
func TestVerifyRange(t *testing.T) {
	p := wav(t, 12.5, -1)
	if c := VerifyRange(p, 8, 20, 1); !c.OK {
		t.Fatalf("12.5 s in 8-20 s: %+v", c)
	}
	if c := VerifyRange(p, 14, 20, 1); c.OK || !strings.Contains(c.Problem, "holds 12.50 s of audio, the call was bridged 14.00-20.00 s") {
		t.Fatalf("12.5 s in 14-20 s: %+v", c)
	}
	if c := VerifyRange(p, 2, 10, 1); c.OK {
		t.Fatalf("12.5 s in 2-10 s passed")
	}
}
