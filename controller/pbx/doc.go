// Package pbx is the switch-neutral port between hotline and a media switch.
//
// It owns the vocabulary every driver speaks: typed channel, bridge,
// playback and recording identifiers; the Event a driver delivers when
// something happens on the switch; and the Commands hotline sends back,
// as plain values that each driver renders to its own wire format in one
// place. It owns no connection and no call state.
//
// A Driver must deliver events in the order the switch sent them and
// never drop one: a slow consumer slows the driver down (back-pressure),
// it does not lose events. After a lost link a driver reconnects by itself
// and delivers a Resynced event carrying a Snapshot of what is live, since
// events missed while disconnected cannot be replayed by either switch.
package pbx
