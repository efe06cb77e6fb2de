package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// latencyReporter is a driver that times the switch's replies.
type latencyReporter interface {
	Latency() []pbx.LatencyStat
}

// logSwitchLatency logs, every interval and once more at the end, how
// long the switch took to reply to each command type since the start:
// the first thing to read when calls feel slow, to tell a slow switch
// from a slow controller.
func logSwitchLatency(ctx context.Context, drv pbx.Driver, log *slog.Logger, every time.Duration) {
	r, ok := drv.(latencyReporter)
	if !ok {
		return
	}
	var last int64
	report := func() {
		var n int64
		var attrs []any
		for _, s := range r.Latency() {
			n += s.N
			attrs = append(attrs, slog.String(s.Command, s.String()))
		}
		if n != last {
			last = n
			log.Info("switch command latency", attrs...)
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			report()
			return
		case <-t.C:
			report()
		}
	}
}
