// Package esl is the pbx.Driver for FreeSWITCH over the Event Socket:
// inbound mode (hotline connects to mod_event_socket, 127.0.0.1:8021)
// always, and optionally outbound mode (Config.OutboundListen: the
// dialplan's socket application connects to hotline once per call).
//
// It owns three layers, bottom up:
//
//   - framing (frame.go): Reader splits the byte stream into frames
//     (headers up to a blank line, then Content-Length bytes of body) and
//     ParseEvent decodes a text/event-plain body, itself a header block
//     with URL-encoded values and an optional nested Content-Length body.
//     Sizes are bounded; bad input is an error, never a panic or a hang.
//     Decoding costs a few allocations per event: names and decoded
//     values share one string.
//   - the connection (conn.go): Conn authenticates, then one reader
//     goroutine delivers events in wire order on a buffered channel with a
//     blocking send, and hands each command/reply or api/response to the
//     oldest waiting command. FreeSWITCH answers a listener's commands in
//     the order it sent them (mod_event_socket runs "api" inline in the
//     listener thread), so a FIFO of waiters pairs every reply with its own
//     command; a waiter whose context ended stays in the FIFO and its late
//     reply is discarded. BACKGROUND_JOB events are matched to bgapi calls
//     by Job-UUID.
//   - the driver (driver.go, outbound.go, render.go, events.go): Run keeps
//     the control connection up with back-off, subscribes to the events it
//     maps and filters them to hotline's channels (render.go,
//     controlFilters), takes a Snapshot and delivers pbx.Resynced on every
//     connect and pbx.LinkDown on loss; in outbound mode it also accepts
//     one socket per call ("connect", linger, myevents, event, nixevent),
//     announces the call as ChannelStarted and sends that call's sendmsg
//     commands over its socket. Events from every connection are mapped
//     and delivered under one lock, so Seq is one sequence; each channel's
//     events come over exactly one connection, in its wire order. render
//     turns each pbx.Command into the exact ESL text (one function,
//     golden-tested); events.go maps FreeSWITCH events to pbx events.
//
// FreeSWITCH has no bridge objects. A pbx bridge is kept by the driver
// (members, recordings) and realised with uuid_bridge between its first
// two members; a recording of the bridge is uuid_record on its first
// member, which hears both parties. A voice message (RecordChannel) is
// uuid_record on the caller's channel beside a beep; uuid_record has no
// terminator key, so the driver stops it when the caller presses one.
// PauseRecording masks a recording (silence that keeps its timing).
// CHANNEL_HOLD and CHANNEL_UNHOLD become ChannelHold and ChannelUnhold
// when the phone raised them, not hotline's own uuid_hold. See
// docs/freeswitch.md.
package esl
