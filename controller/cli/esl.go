package cli

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/pbx/esl"
)

// newESLCmd is "hotline esl", tools for FreeSWITCH's Event Socket.
func newESLCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "esl", Short: "FreeSWITCH Event Socket tools"}
	cmd.AddCommand(&cobra.Command{
		Use:   "decode [FILE]",
		Short: "decode raw ESL bytes (a capture) into one JSON object per frame",
		Long: `decode reads raw Event Socket bytes from FILE (stdin when none) and prints
one JSON object per frame: content_type, headers (URL-decoded), body, and for
text/event-plain the parsed event (headers, event_name, body; for
BACKGROUND_JOB its job_uuid and result). A malformed frame prints
{"error": ..., "offset": N} and decoding continues where framing allows.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := io.Reader(cmd.InOrStdin())
			if len(args) == 1 {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			return decodeESL(in, cmd.OutOrStdout())
		},
	})
	return cmd
}

type eslHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type eslEvent struct {
	Name    string      `json:"event_name"`
	Headers []eslHeader `json:"headers"`
	Body    string      `json:"body,omitempty"`
	JobUUID string      `json:"job_uuid,omitempty"`
	Result  string      `json:"result,omitempty"`
	Error   string      `json:"error,omitempty"`
}

type eslFrame struct {
	Offset      int64       `json:"offset"`
	ContentType string      `json:"content_type"`
	Headers     []eslHeader `json:"headers"`
	Body        string      `json:"body,omitempty"`
	Event       *eslEvent   `json:"event,omitempty"`
}

func decodeESL(in io.Reader, out io.Writer) error {
	enc := json.NewEncoder(out)
	r := esl.NewReader(in, esl.Limits{})
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var fe *esl.FrameError
		if errors.As(err, &fe) {
			if err := enc.Encode(map[string]any{"error": fe.Err.Error(), "offset": fe.Offset}); err != nil {
				return err
			}
			if fe.Resumable {
				continue
			}
			return nil
		}
		if err != nil {
			return err
		}
		o := eslFrame{Offset: f.Offset, ContentType: f.ContentType, Headers: headersJSON(f.Headers, true)}
		if strings.HasPrefix(f.ContentType, "text/event-") {
			o.Event = eventJSON(f)
		} else {
			o.Body = string(f.Body)
		}
		if o.Event == nil || o.Event.Error != "" {
			o.Body = string(f.Body)
		}
		if err := enc.Encode(o); err != nil {
			return err
		}
	}
}

func eventJSON(f *esl.Frame) *eslEvent {
	if f.ContentType != esl.TypeEventPlain {
		return &eslEvent{Error: "only text/event-plain is decoded; body kept as is"}
	}
	ev, err := esl.ParseEvent(f.Body)
	if err != nil {
		return &eslEvent{Error: err.Error()}
	}
	e := &eslEvent{Name: ev.Name(), Headers: headersJSON(ev.Headers, false), Body: string(ev.Body)}
	if e.Name == "BACKGROUND_JOB" {
		e.JobUUID, e.Result = ev.Get("Job-UUID"), string(ev.Body)
	}
	return e
}

func headersJSON(h esl.Headers, decode bool) []eslHeader {
	out := make([]eslHeader, len(h))
	for i, x := range h {
		v := x.Value
		if decode {
			v = esl.URLDecode(v)
		}
		out[i] = eslHeader{Name: x.Name, Value: v}
	}
	return out
}
