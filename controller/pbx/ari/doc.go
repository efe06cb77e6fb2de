// Package ari is hotline's driver for Asterisk over ARI (the Asterisk REST
// Interface: HTTP for commands, one WebSocket for events). It implements
// pbx.Driver.
//
// It owns one ARI application's event WebSocket and the HTTP client used
// for commands; it owns no call state. Events are read by one goroutine,
// mapped to pbx.Event and delivered in wire order on a bounded channel
// with a blocking send: a slow consumer slows the reader (and, through
// TCP, Asterisk), it never loses an event. When the link drops the driver
// delivers pbx.LinkDown, reconnects with jittered exponential back-off and
// delivers pbx.Resynced with a fresh Snapshot; it does so on the first
// connect too, so the controller can adopt calls that were live before it
// started.
//
// Commands are rendered to (method, path, query) in one function, render,
// which has golden tests for every command type. See
// docs/decisions/0001-ari-client.md for why this is not built on
// github.com/CyCoreSystems/ari.
package ari
