package esltest

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// Outbound mode: the dialplan runs "socket HOST:PORT [async] [full]"
// for a call (CallSpec.Socket) and FreeSWITCH connects to HOST:PORT
// (mod_event_socket.c, socket_function and listener_run):
//
//   - no auth/request; the first command must come within 25 s;
//   - "connect" is answered with the channel's data serialized as an
//     event, values URL-encoded: CHANNEL_DATA's headers, the caller
//     profile as Channel-*, the channel's variables, then Content-Type:
//     command/reply, Reply-Text: +OK\n, Socket-Mode (async|static) and
//     Control (full|single-channel); in async mode the call then parks;
//   - without "full" only connect, myevents, filter, sendmsg and exit are
//     served (the rest is "-ERR command not found");
//   - at the hang-up (after CHANNEL_HANGUP) a socket with linger gets
//     "Content-Type: text/disconnect-notice\nControlled-Session-UUID:
//     U\nContent-Disposition: linger\nChannel-Name: N\nLinger-Time:
//     T\nContent-Length: 0\n\n", the events that follow, and after T
//     seconds (never, for "linger" without seconds, until the client
//     closes) the goodbye; without linger the goodbye comes at once and
//     the later events are lost;
//   - when the socket closes while the call is up, the socket application
//     ends and the dialplan goes on: the call hangs up
//     (NORMAL_TEMPORARY_FAILURE, the "hangup" after "socket" in
//     freeswitch-conf/dialplan/hotline-outbound.xml).

// startSocketApp runs the socket application for ch with args (as in
// the dialplan: "127.0.0.1:8084 async full"). Call with s.mu held.
func (s *Server) startSocketApp(ch *channel, args string) {
	ch.app, ch.appData, ch.state = "socket", args, "CS_EXECUTE"
	f := strings.Fields(args)
	host := ""
	if len(f) > 0 {
		host = f[0]
	}
	ch.setVar("socket_host", host)
	ch.fire("CHANNEL_EXECUTE", "Application", "socket", "Application-Data", args)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		nc, err := net.DialTimeout("tcp", host, 5*time.Second)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil || s.closed || ch.hungup {
			if nc != nil {
				nc.Close()
			}
			// "Socket Error!": the application returns, the dialplan
			// goes on to its hangup.
			s.hangupLocked(ch, "NORMAL_TEMPORARY_FAILURE")
			return
		}
		l := newListener(s, nc)
		l.authed, l.session = true, ch
		for _, a := range f[1:] {
			switch strings.ToLower(a) {
			case "full":
				l.full = true
			case "async":
				l.async = true
			}
		}
		s.listeners[l] = true
		s.wg.Add(2)
		go l.writer()
		go l.serveSession()
	}()
}

// serveSession serves an outbound socket until it closes; then a call
// still up leaves the socket application and hangs up.
func (l *listener) serveSession() {
	defer l.s.wg.Done()
	defer func() {
		l.s.mu.Lock()
		delete(l.s.listeners, l)
		l.gone = true
		if ch := l.session; !ch.hungup {
			l.s.hangupLocked(ch, "NORMAL_TEMPORARY_FAILURE")
		}
		l.s.mu.Unlock()
		l.finish()
	}()
	br := bufio.NewReader(l.nc)
	l.nc.SetReadDeadline(time.Now().Add(25 * time.Second)) // read_packet(listener, &ievent, 25)
	cmd, hdrs, err := readCommand(br)
	if err != nil {
		l.nc.Close()
		return
	}
	l.nc.SetReadDeadline(time.Time{})
	if !l.handle(cmd, hdrs) {
		return
	}
	l.commands(br)
}

// connect answers "connect" with the channel data and parks the call
// (async mode).
func (l *listener) connect() {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := l.session
	e := s.newEvent("CHANNEL_DATA", nil)
	ch.profileData(e, "Channel")
	ch.eventData(e)
	e.add("Content-Type", "command/reply")
	e.add("Reply-Text", "+OK\n")
	mode, control := "static", "single-channel"
	if l.async {
		mode = "async"
	}
	if l.full {
		control = "full"
	}
	e.add("Socket-Mode", mode)
	e.add("Control", control)
	l.enqueue([]byte(serializeEvent(e)))
	if l.async && !ch.hungup {
		ch.fire("CHANNEL_PARK") // switch_ivr_park inside the socket application
	}
}

// profileData adds what switch_caller_profile_event_set_data adds with
// prefix.
func (ch *channel) profileData(e *event, prefix string) {
	e.add(prefix+"-Direction", ch.direction)
	e.add(prefix+"-Username", ch.callerNum)
	e.add(prefix+"-Dialplan", "XML")
	e.add(prefix+"-Caller-ID-Name", ch.callerName)
	e.add(prefix+"-Caller-ID-Number", ch.callerNum)
	e.add(prefix+"-Network-Addr", "127.0.0.1")
	e.add(prefix+"-ANI", ch.callerNum)
	e.add(prefix+"-Destination-Number", ch.dest)
	e.add(prefix+"-Unique-ID", ch.uuid)
	e.add(prefix+"-Source", "mod_sofia")
	e.add(prefix+"-Context", ch.context)
	e.add(prefix+"-Channel-Name", ch.name)
}

// socketsHangup tells ch's outbound sockets that the call went down,
// right after CHANNEL_HANGUP (read_packet's check of the channel). Call
// with s.mu held.
func (s *Server) socketsHangup(ch *channel) {
	for l := range s.listeners {
		if l.session != ch || l.gone {
			continue
		}
		if !l.linger {
			l.gone = true
			l.goodbye()
			continue
		}
		l.enqueue([]byte(fmt.Sprintf("Content-Type: text/disconnect-notice\nControlled-Session-UUID: %s\nContent-Disposition: linger\nChannel-Name: %s\nLinger-Time: %d\nContent-Length: 0\n\n",
			ch.uuid, ch.name, l.lingerS)))
	}
}

// socketsLinger starts the linger time of ch's sockets once the call's
// last events are queued. Call with s.mu held.
func (s *Server) socketsLinger(ch *channel) {
	for l := range s.listeners {
		if l.session != ch || l.gone || l.lingerS < 0 {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-time.After(time.Duration(l.lingerS) * time.Second):
			case <-s.stop:
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if !l.gone {
				l.gone = true
				l.goodbye()
			}
		}()
	}
}
