package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestESLDecodeCapture(t *testing.T) {
	data, err := os.ReadFile("../pbx/esl/testdata/capture.esl")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := decodeESL(bytes.NewReader(data), &out); err != nil {
		t.Fatal(err)
	}
	events, jobs := 0, 0
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f eslFrame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		if f.Event != nil {
			if f.Event.Name == "" || f.Event.Error != "" {
				t.Errorf("frame at %d: %+v", f.Offset, f.Event)
			}
			events++
			if f.Event.Name == "BACKGROUND_JOB" && f.Event.JobUUID != "" && strings.HasPrefix(f.Event.Result, "+OK") {
				jobs++
			}
		}
	}
	if events < 50 || jobs == 0 {
		t.Errorf("%d events, %d background jobs decoded", events, jobs)
	}
}

func TestESLDecodeMalformed(t *testing.T) {
	in := "Content-Type: command/reply\nReply-Text: +OK\n\n" +
		"no colon here\n\n" +
		"Content-Type: api/response\nContent-Length: 3\n\n+OK" +
		"Content-Type: text/event-plain\nContent-Length: 99999999999\n\n"
	var out bytes.Buffer
	if err := decodeESL(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], `"error"`) || !strings.Contains(lines[2], `"api/response"`) ||
		!strings.Contains(lines[3], `"offset":109`) {
		t.Fatalf("got:\n%s", out.String())
	}
}
