// Package esl is the pbx.Driver for FreeSWITCH over the Event Socket
// (mod_event_socket, inbound mode: hotline connects to 127.0.0.1:8021).
//
// It owns three layers, bottom up:
//
//   - framing (frame.go): Reader splits the byte stream into frames
//     (headers up to a blank line, then Content-Length bytes of body) and
//     ParseEvent decodes a text/event-plain body, itself a header block
//     with URL-encoded values and an optional nested Content-Length body.
//     Sizes are bounded; bad input is an error, never a panic or a hang.
//   - the connection (conn.go): Conn authenticates, then one reader
//     goroutine delivers events in wire order on a buffered channel with a
//     blocking send, and hands each command/reply or api/response to the
//     oldest waiting command. FreeSWITCH answers a listener's commands in
//     the order it sent them (mod_event_socket runs "api" inline in the
//     listener thread), so a FIFO of waiters pairs every reply with its own
//     command; a waiter whose context ended stays in the FIFO and its late
//     reply is discarded. BACKGROUND_JOB events are matched to bgapi calls
//     by Job-UUID.
//   - the driver (driver.go, render.go, events.go): Run keeps a Conn up
//     with back-off, takes a Snapshot and delivers pbx.Resynced on every
//     connect and pbx.LinkDown on loss; render turns each pbx.Command into
//     the exact ESL text (one function, golden-tested); events.go maps
//     FreeSWITCH events to pbx events.
//
// FreeSWITCH has no bridge objects. A pbx bridge is kept by the driver
// (members, recordings) and realised with uuid_bridge between its first
// two members; a recording of the bridge is uuid_record on its first
// member, which hears both parties. See docs/freeswitch.md.
package esl
