// Package recording owns what hotline knows of recorded calls: where the
// switch writes them, and the check that a finished file really holds the
// call (a valid WAV whose duration matches the bridged time) rather than a
// header with nothing behind it.
package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// WAV is what a WAV file's header says.
type WAV struct {
	Bytes      int64   // file size
	SampleRate uint32  // samples per second
	Channels   uint16  // 1 = mono
	Bits       uint16  // bits per sample
	DataBytes  uint32  // audio bytes
	Seconds    float64 // DataBytes / byte rate
}

// ErrNotWAV is wrapped by every header problem.
var ErrNotWAV = errors.New("not a valid WAV file")

// ReadWAV reads and checks a WAV file's RIFF header.
func ReadWAV(path string) (WAV, error) {
	f, err := os.Open(path)
	if err != nil {
		return WAV{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return WAV{}, err
	}
	w := WAV{Bytes: st.Size()}
	var riff [12]byte
	if _, err := io.ReadFull(f, riff[:]); err != nil {
		return w, fmt.Errorf("%s: %w: %d bytes, too short for a RIFF header", path, ErrNotWAV, st.Size())
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return w, fmt.Errorf("%s: %w: no RIFF/WAVE signature", path, ErrNotWAV)
	}
	var byteRate uint32
	gotFmt := false
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(f, hdr[:]); err != nil {
			return w, fmt.Errorf("%s: %w: no data chunk", path, ErrNotWAV)
		}
		id, size := string(hdr[0:4]), binary.LittleEndian.Uint32(hdr[4:8])
		switch id {
		case "fmt ":
			if size < 16 {
				return w, fmt.Errorf("%s: %w: fmt chunk of %d bytes", path, ErrNotWAV, size)
			}
			b := make([]byte, size)
			if _, err := io.ReadFull(f, b); err != nil {
				return w, fmt.Errorf("%s: %w: truncated fmt chunk", path, ErrNotWAV)
			}
			w.Channels = binary.LittleEndian.Uint16(b[2:4])
			w.SampleRate = binary.LittleEndian.Uint32(b[4:8])
			byteRate = binary.LittleEndian.Uint32(b[8:12])
			w.Bits = binary.LittleEndian.Uint16(b[14:16])
			gotFmt = true
		case "data":
			if !gotFmt || byteRate == 0 {
				return w, fmt.Errorf("%s: %w: data before a usable fmt chunk", path, ErrNotWAV)
			}
			pos, _ := f.Seek(0, io.SeekCurrent)
			avail := st.Size() - pos
			w.DataBytes = size
			if int64(size) > avail {
				return w, fmt.Errorf("%s: %w: header claims %d audio bytes, file holds %d", path, ErrNotWAV, size, avail)
			}
			w.Seconds = float64(size) / float64(byteRate)
			return w, nil
		default:
			if _, err := f.Seek(int64(size+size%2), io.SeekCurrent); err != nil {
				return w, fmt.Errorf("%s: %w: %v", path, ErrNotWAV, err)
			}
		}
	}
}

// Check is the verdict on one finished recording.
type Check struct {
	WAV
	OK      bool
	Problem string // empty when OK
}

// Verify checks that the file at path is a valid WAV whose duration is
// within tolerance of the bridged time the call had.
func Verify(path string, bridged, tolerance float64) Check {
	return VerifyRange(path, bridged, bridged, tolerance)
}

// VerifyRange is Verify for a call whose bridged time is known only to lie
// between lo and hi seconds (its hang-up happened while hotline's link to
// the switch was down).
func VerifyRange(path string, lo, hi, tolerance float64) Check {
	w, err := ReadWAV(path)
	c := Check{WAV: w}
	switch {
	case err != nil:
		c.Problem = err.Error()
	case w.Seconds < lo-tolerance || w.Seconds > hi+tolerance:
		if lo == hi {
			c.Problem = fmt.Sprintf("%s: holds %.2f s of audio, the call was bridged %.2f s", path, w.Seconds, hi)
		} else {
			c.Problem = fmt.Sprintf("%s: holds %.2f s of audio, the call was bridged %.2f-%.2f s", path, w.Seconds, lo, hi)
		}
	default:
		c.OK = true
	}
	return c
}
