package ari

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// request is one ARI REST call: method, path below /ari, and query. ARI
// takes every parameter hotline uses in the query string, so there is no
// body.
type request struct {
	Method string
	Path   string
	Query  url.Values
	JSON   []byte // a JSON body, if any
}

// String renders the request as "METHOD /path?query" with the query keys
// sorted: the form the golden tests compare.
func (r request) String() string {
	s := r.Method + " " + r.Path
	if len(r.Query) > 0 {
		s += "?" + r.Query.Encode()
	}
	return s
}

// render turns a validated command into the ARI request that performs it.
// app is the ARI application originated channels are handed to. It is the
// only place a pbx.Command becomes wire text.
func render(cmd pbx.Command, app string) (request, error) {
	p := url.PathEscape
	switch c := cmd.(type) {
	case pbx.Answer:
		return post("/channels/"+p(string(c.Channel))+"/answer", nil), nil
	case pbx.Hangup:
		reason := c.Reason
		if reason == "" {
			reason = "normal"
		}
		return del("/channels/"+p(string(c.Channel)), url.Values{"reason": {reason}}), nil
	case pbx.Play:
		media := make([]string, len(c.Media))
		for i, m := range c.Media {
			media[i] = mediaURI(m)
		}
		// ARI splits one media parameter on commas; a repeated media
		// parameter replaces the previous one (res_ari_channels.c), so
		// the list must be sent comma-joined.
		return post("/channels/"+p(string(c.Channel))+"/play/"+p(string(c.ID)),
			url.Values{"media": {strings.Join(media, ",")}}), nil
	case pbx.StopPlayback:
		return del("/playbacks/"+p(string(c.ID)), nil), nil
	case pbx.StartMOH:
		var q url.Values
		if c.Class != "" {
			q = url.Values{"mohClass": {c.Class}}
		}
		return post("/channels/"+p(string(c.Channel))+"/moh", q), nil
	case pbx.StopMOH:
		return del("/channels/"+p(string(c.Channel))+"/moh", nil), nil
	case pbx.Ring:
		return post("/channels/"+p(string(c.Channel))+"/ring", nil), nil
	case pbx.Originate:
		q := url.Values{"endpoint": {c.Endpoint}, "app": {app}}
		if len(c.Args) > 0 {
			q.Set("appArgs", strings.Join(c.Args, ","))
		}
		switch {
		case c.CallerName != "" && c.CallerID != "":
			q.Set("callerId", fmt.Sprintf("%q <%s>", c.CallerName, c.CallerID))
		case c.CallerName != "":
			q.Set("callerId", fmt.Sprintf("%q", c.CallerName))
		case c.CallerID != "":
			q.Set("callerId", c.CallerID)
		}
		if c.Timeout > 0 {
			secs := int((c.Timeout + time.Second - 1) / time.Second) // round up: 1.5s rings 2s, not 1s
			q.Set("timeout", strconv.Itoa(secs))
		}
		return post("/channels/"+p(string(c.ID)), q), nil
	case pbx.CreateBridge:
		return post("/bridges/"+p(string(c.ID)), url.Values{"type": {"mixing"}}), nil
	case pbx.AddToBridge:
		ids := make([]string, len(c.Channels))
		for i, ch := range c.Channels {
			ids[i] = string(ch)
		}
		return post("/bridges/"+p(string(c.Bridge))+"/addChannel",
			url.Values{"channel": {strings.Join(ids, ",")}}), nil
	case pbx.RemoveFromBridge:
		return post("/bridges/"+p(string(c.Bridge))+"/removeChannel",
			url.Values{"channel": {string(c.Channel)}}), nil
	case pbx.DestroyBridge:
		return del("/bridges/"+p(string(c.Bridge)), nil), nil
	case pbx.RecordBridge:
		q := url.Values{"name": {string(c.Name)}, "format": {c.Format}, "ifExists": {"fail"}}
		if c.MaxDuration > 0 {
			secs := int((c.MaxDuration + time.Second - 1) / time.Second)
			q.Set("maxDurationSeconds", strconv.Itoa(secs))
		}
		return post("/bridges/"+p(string(c.Bridge))+"/record", q), nil
	case pbx.StopRecording:
		return post("/recordings/live/"+p(string(c.Name))+"/stop", nil), nil
	case pbx.RecordChannel:
		q := url.Values{"name": {string(c.Name)}, "format": {c.Format}, "ifExists": {"fail"}, "beep": {"true"},
			"maxDurationSeconds": {strconv.Itoa(int((c.MaxDuration + time.Second - 1) / time.Second))}}
		if c.MaxSilence > 0 {
			q.Set("maxSilenceSeconds", strconv.Itoa(int((c.MaxSilence+time.Second-1)/time.Second)))
		}
		terminate := "none"
		if c.TerminateOn != "" {
			terminate = c.TerminateOn
		}
		q.Set("terminateOn", terminate)
		return post("/channels/"+p(string(c.Channel))+"/record", q), nil
	case pbx.PauseRecording:
		return post("/recordings/live/"+p(string(c.Name))+"/pause", nil), nil
	case pbx.ResumeRecording:
		return del("/recordings/live/"+p(string(c.Name))+"/pause", nil), nil
	case pbx.Hold:
		return post("/channels/"+p(string(c.Channel))+"/hold", nil), nil
	case pbx.Unhold:
		return del("/channels/"+p(string(c.Channel))+"/hold", nil), nil
	case nil:
		return request{}, fmt.Errorf("%w: nil command", pbx.ErrInvalid)
	default:
		return request{}, fmt.Errorf("%w: ari driver cannot render %T", pbx.ErrInvalid, cmd)
	}
}

// mediaURI maps pbx media ("sound:X", "digits:N", "number:N",
// "silence:N") to an ARI media URI. Asterisk has no silence: scheme; its
// core sounds ship silence/1 .. silence/10 as prompt files.
func mediaURI(m string) string {
	if n, ok := strings.CutPrefix(m, "silence:"); ok {
		return "sound:silence/" + n
	}
	return m
}

func post(path string, q url.Values) request { return request{Method: "POST", Path: path, Query: q} }
func del(path string, q url.Values) request  { return request{Method: "DELETE", Path: path, Query: q} }
