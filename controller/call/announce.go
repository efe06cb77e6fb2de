package call

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
)

// QueueSettings is what calls need to know of a queue beyond routing.
type QueueSettings struct {
	// AnnounceEvery is how often a waiting caller hears their position
	// and expected wait (0: never).
	AnnounceEvery time.Duration
	// CallbackDial is the endpoint a callback's customer is dialled at,
	// {number} standing for the number (see config.QueueCallback.Dial);
	// empty: the queue takes no callbacks.
	CallbackDial string
	// CallbackHoldMax is how long a callback's customer who answered
	// waits for an agent before being told they will be called again
	// (0: 2 minutes).
	CallbackHoldMax time.Duration
	// Service is the service number callbacks of the queue are made for:
	// the caller ID the customer sees and the service of their contact.
	Service string
}

// settings returns the settings of the queue the call waits in now.
func (c *Call) settings() QueueSettings { return c.m.cfg.Queues[c.queueID] }

// announcer times the position and expected-wait announcements of a
// waiting call, every AnnounceEvery of its current queue.
type announcer struct {
	call  *Call
	timer *time.Timer
}

func (c *Call) newAnnouncer() *announcer {
	a := &announcer{call: c}
	a.reset()
	return a
}

// c is the channel that fires when the next announcement is due (nil:
// announcements are off).
func (a *announcer) c() <-chan time.Time {
	if a.timer == nil {
		return nil
	}
	return a.timer.C
}

func (a *announcer) reset() {
	a.stop()
	if every := a.call.settings().AnnounceEvery; every > 0 {
		a.timer = time.NewTimer(every)
	}
}

func (a *announcer) stop() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
}

// announce tells a waiting caller their position and expected wait, as
// the ACD estimates them now, then hold music resumes (waitInQueue does
// that when the playback finishes). Nothing is said while another
// announcement plays.
func (c *Call) announce(ctx context.Context) {
	if c.holdPlayback != "" || c.hungUp {
		return
	}
	pos, ewt, ok, err := c.m.acd.Estimate(ctx, c.acdCall())
	if err != nil || !ok {
		if err != nil {
			c.logErr("estimate", err)
		}
		return
	}
	media, detail := announcement(pos, ewt)
	if c.moh {
		_ = c.do(ctx, pbx.StopMOH{Channel: c.channel})
		c.moh = false
	}
	c.nPlay++
	c.holdPlayback = pbx.PlaybackID(fmt.Sprintf("%s-p%d", c.channel, c.nPlay))
	c.Trail("queue", "announce", detail)
	c.log.Info("position announced", "position", pos, "ewt", ewtText(ewt))
	if err := c.do(ctx, pbx.Play{Channel: c.channel, ID: c.holdPlayback, Media: media}); err != nil {
		c.holdPlayback = ""
		c.startMOH(ctx)
	}
}

// announcement is what a caller at position pos (1-based) with expected
// wait ewt hears, in Asterisk's core queue sounds, and the trail's
// summary of it: "position 2, about 3 min", "position 1, less than 1
// min", or "position 4" when the wait cannot be estimated
// (acd.NoEstimate).
func announcement(pos int, ewt time.Duration) (media []string, detail string) {
	if pos <= 1 {
		media = []string{"sound:queue-youarenext"}
	} else {
		media = []string{"sound:queue-thereare", fmt.Sprintf("number:%d", pos), "sound:queue-callswaiting"}
	}
	detail = fmt.Sprintf("position %d", pos)
	if ewt != acd.NoEstimate && ewt >= 0 {
		mins := int((ewt + 30*time.Second) / time.Minute)
		if ewt < time.Minute {
			media = append(media, "sound:queue-holdtime", "sound:queue-less-than", "number:1", "sound:queue-minute")
			detail += ", less than 1 min"
		} else {
			unit := "sound:queue-minutes"
			if mins == 1 {
				unit = "sound:queue-minute"
			}
			media = append(media, "sound:queue-holdtime", fmt.Sprintf("number:%d", mins), unit)
			detail += fmt.Sprintf(", about %d min", mins)
		}
	}
	return append(media, "sound:queue-thankyou"), detail
}

func ewtText(ewt time.Duration) string {
	if ewt == acd.NoEstimate {
		return "unknown"
	}
	return ewt.Round(time.Second).String()
}
