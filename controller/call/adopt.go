package call

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/store"
)

// adopt runs once, on the first snapshot after start: every contact that
// Postgres says is live is matched with the switch's channels. Calls the
// switch still carries are taken over where they are; the rest are
// closed. The contacts come oldest-queued first, so queued callers
// re-enter their queue in their original order.
func (m *Manager) adopt(ctx context.Context, snap *pbx.Snapshot) {
	if snap == nil {
		snap = &pbx.Snapshot{}
	}
	live, err := m.store.LiveContacts(ctx)
	if err != nil {
		m.log.Error("cannot read live contacts; calls on the switch are not adopted", "err", err)
		return
	}
	owned := map[pbx.ChannelID]bool{}
	// First pass: which agents are still on a call the switch carries, so
	// the ACD can put the others right before any call is re-queued.
	onCall := map[acd.AgentID]bool{}
	for _, ct := range live {
		owned[pbx.ChannelID(ct.ChannelID)] = true
		if ct.AgentChannelID.Valid {
			owned[pbx.ChannelID(ct.AgentChannelID.String)] = true
		}
		_, callerUp := snap.Channel(pbx.ChannelID(ct.ChannelID))
		_, agentUp := snap.Channel(pbx.ChannelID(ct.AgentChannelID.String))
		if ct.State == store.ContactBridged && callerUp && agentUp {
			onCall[acd.AgentID(ct.AgentID.String)] = true
		}
	}
	if err := m.acd.ReleaseOrphans(ctx, onCall); err != nil {
		m.log.Error("agent reconciliation failed", "err", err)
	}
	adopted := 0
	for _, ct := range live {
		ch := pbx.ChannelID(ct.ChannelID)
		svc, known := m.cfg.Services[ct.ServiceNumber]
		_, callerUp := snap.Channel(ch)
		if !callerUp || !known {
			m.closeStale(ctx, ct)
			continue
		}
		if id, ok := callbackLeg(ch); ok && ct.State != store.ContactBridged {
			// (A bridged callback runs on as any bridged call below: the
			// callback was completed when the two were connected.)
			m.adoptCallback(ctx, ct, id, snap)
			adopted++
			continue
		}
		c := m.newCall(ch, svc, ct.Caller)
		c.contact = ct.ID
		c.log = c.log.With("contact", ct.ID)
		c.lookupPriority(ctx)
		if n, err := m.store.NextTrailSeq(ctx, ct.ID); err == nil {
			c.trailSeq = n - 1
		}
		adopted++
		c.event(ctx, "adopted", map[string]any{"state": ct.State})
		switch ct.State {
		case store.ContactBridged:
			agent := acd.AgentID(ct.AgentID.String)
			leg := pbx.ChannelID(ct.AgentChannelID.String)
			if !onCall[agent] {
				c.log.Info("adopted call lost its agent while hotline was down; releasing")
				m.spawn(ctx, c, func(ctx context.Context) {
					c.m.hangup(ctx, c.channel)
					c.finish(ctx, store.DispAnswered, "agent")
				})
				continue
			}
			c.setAgentLeg(leg)
			if err := m.acd.AdoptCall(ctx, acd.CallID(ch), agent, ct.ID); err != nil {
				c.log.Error("agent of adopted call unknown", "err", err)
			}
			rec := m.lastRecording(ctx, ct.ID)
			answered := ct.AnsweredAt.Time
			c.log.Info("adopted bridged call", "agent", agent)
			m.spawn(ctx, c, func(ctx context.Context) { c.bridged(ctx, agent, leg, answered, true, rec) })
		case store.ContactTransferred:
			leg := pbx.ChannelID(ct.AgentChannelID.String)
			if _, up := snap.Channel(leg); !up {
				c.log.Info("adopted transfer lost its outside number while hotline was down; releasing")
				m.spawn(ctx, c, func(ctx context.Context) {
					c.m.hangup(ctx, c.channel)
					c.finish(ctx, store.DispTransferred, "transfer")
				})
				continue
			}
			c.setAgentLeg(leg)
			bridge := pbx.BridgeID(ct.BridgeID.String)
			c.log.Info("adopted transferred call", "leg", leg)
			m.spawn(ctx, c, func(ctx context.Context) { c.transferred(ctx, leg, bridge) })
		case store.ContactQueued, store.ContactOffered:
			if ct.State == store.ContactOffered && ct.AgentChannelID.Valid {
				// The offer died with the old process: stop the ringing.
				m.hangup(ctx, pbx.ChannelID(ct.AgentChannelID.String))
			}
			queued := ct.QueuedAt.Time
			if !ct.QueuedAt.Valid {
				queued = ct.ArrivedAt
			}
			c.log.Info("adopted queued call", "queued_at", queued)
			// Enqueued here, in line order, before the next is looked at.
			if c.enqueue(ctx, queued, false) {
				m.spawn(ctx, c, func(ctx context.Context) { c.waitInQueue(ctx, queued) })
			} else {
				m.unregisterCall(c)
			}
		default: // in the IVR: start the menu again
			if ct.AgentChannelID.Valid {
				// A transfer was ringing an outside number: stop it.
				m.hangup(ctx, pbx.ChannelID(ct.AgentChannelID.String))
			}
			c.log.Info("adopted call in the IVR; restarting its menu")
			c.Trail("restart", "resumed", "menu restarted after a controller restart")
			m.spawn(ctx, c, func(ctx context.Context) { c.runIVR(ctx) })
		}
	}
	// Channels in hotline's hands that Postgres never heard of: an agent
	// or transfer leg of a dead call is hung up; a caller whose start was lost is
	// taken as a new call.
	for _, ch := range snap.Channels {
		if !ch.InApp || owned[ch.ID] {
			continue
		}
		if legID.MatchString(string(ch.ID)) {
			m.hangup(ctx, ch.ID)
			continue
		}
		m.startCall(ctx, pbx.Event{Kind: pbx.ChannelStarted, Channel: ch.ID, Caller: ch.Caller, Dialed: ch.Dialed, At: ch.Created})
	}
	m.log.Info("adoption done", "live_contacts", len(live), "adopted", adopted, "switch_channels", len(snap.Channels))
}

// callbackLegID matches a callback's customer leg (dialCallback):
// cbID-ATTEMPT-MS-c.
var callbackLegID = regexp.MustCompile(store.CallbackLegPattern)

// callbackLeg returns the callback a customer leg was dialled for.
func callbackLeg(ch pbx.ChannelID) (int64, bool) {
	m := callbackLegID.FindStringSubmatch(string(ch))
	if m == nil {
		return 0, false
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	return id, err == nil
}

// adoptCallback takes over, after a restart, the call of a callback
// dial whose customer leg the switch still carries and who is not yet
// talking to an agent. The callback itself was restored in line from
// Postgres before adoption (server), so:
//
//   - a customer-first customer who answered and waits for an agent:
//     the call holds for the agent again, under the callback's CallID,
//     so the callback's next offer rings the agent for this customer
//     instead of dialling them a second time;
//   - anything else (a customer leg still ringing, an agent-first dial
//     half made, a callback no longer open): its legs are hung up and
//     the attempt ends unanswered; the callback, if open, is dialled
//     again from its place.
func (m *Manager) adoptCallback(ctx context.Context, ct store.Contact, id int64, snap *pbx.Snapshot) {
	ch := pbx.ChannelID(ct.ChannelID)
	info, _ := snap.Channel(ch)
	queue := acd.QueueID(ct.QueueID.String)
	svc := Service{Number: ct.ServiceNumber, Queue: queue}
	c := m.newCall(ch, svc, ct.Caller)
	c.contact, c.queueID = ct.ID, queue
	c.legBase = strings.TrimSuffix(string(ch), "-c")
	c.log = c.log.With("contact", ct.ID, "callback", id)
	if n, err := m.store.NextTrailSeq(ctx, ct.ID); err == nil {
		c.trailSeq = n - 1
	}
	row, err := m.store.Callback(ctx, id)
	open := err == nil && (row.Status == string(acd.CallbackPending) || row.Status == string(acd.CallbackOffered))
	if ct.State == store.ContactQueued && info.State == pbx.StateUp && open && row.Mode != string(acd.AgentFirst) {
		c.acdID = acd.CallbackCallID(id)
		c.callback = &acd.CallbackOffer{ID: id, Number: row.Number, Mode: acd.CallbackMode(row.Mode), Attempt: row.Attempts + 1, ContactID: row.ContactID.Int64}
		m.register(string(c.acdID), c)
		c.event(ctx, "adopted", map[string]any{"state": ct.State, "callback": id})
		c.log.Info("adopted callback customer waiting for an agent")
		if ct.AgentChannelID.Valid {
			m.hangup(ctx, pbx.ChannelID(ct.AgentChannelID.String)) // the offer died with the old process
		}
		queued := ct.QueuedAt.Time
		m.spawn(ctx, c, func(ctx context.Context) {
			c.startMOH(ctx)
			c.holdForAgent(ctx, queued)
		})
		return
	}
	c.log.Info("callback dial cut by a restart; ending it", "state", ct.State, "callback_open", open)
	if ct.AgentChannelID.Valid {
		m.hangup(ctx, pbx.ChannelID(ct.AgentChannelID.String))
	}
	m.spawn(ctx, c, func(ctx context.Context) {
		c.Trail("restart", "callback", "dial cut by a controller restart")
		c.hangupAndFinish(ctx, store.DispCallbackUnanswered, "system")
	})
}

// legID matches the channels hotline originates for a call: agent legs
// (-aN) and transfer legs (-tN).
var legID = regexp.MustCompile(`-[at][0-9]+$`)

// closeStale ends a contact whose call the switch no longer carries.
func (m *Manager) closeStale(ctx context.Context, ct store.Contact) {
	disp := map[string]string{
		store.ContactIVR: store.DispAbandonedIVR, store.ContactQueued: store.DispAbandonedQueue,
		store.ContactOffered: store.DispAbandonedRinging, store.ContactBridged: store.DispAnswered,
		store.ContactTransferred: store.DispTransferred,
	}[ct.State]
	if disp == "" {
		disp = store.DispFailed
	}
	if err := m.store.EndContact(ctx, ct.ID, disp, "unknown", time.Now()); err != nil {
		m.log.Error("could not close stale contact", "contact", ct.ID, "err", err)
	}
	if ct.AgentChannelID.Valid {
		m.hangup(ctx, pbx.ChannelID(ct.AgentChannelID.String))
	}
	m.log.Info("contact ended while hotline was down", "contact", ct.ID, "state", ct.State, "disposition", disp)
}

func (m *Manager) lastRecording(ctx context.Context, contact int64) pbx.RecordingName {
	rs, err := m.store.RecordingsOf(ctx, contact)
	if err != nil || len(rs) == 0 {
		return ""
	}
	return pbx.RecordingName(rs[len(rs)-1].Name)
}
