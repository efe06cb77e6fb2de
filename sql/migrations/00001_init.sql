-- +goose Up
-- Configuration: service numbers, queues, agents. `hotline serve` upserts
-- these from its configuration file at start.
CREATE TABLE queues (
    id              text PRIMARY KEY,
    name            text NOT NULL DEFAULT '',
    strategy        text NOT NULL DEFAULT 'longest-idle',
    ring_timeout_ms integer NOT NULL DEFAULT 15000 CHECK (ring_timeout_ms > 0),
    wrap_up_ms      integer NOT NULL DEFAULT 10000 CHECK (wrap_up_ms >= 0)
);

CREATE TABLE service_numbers (
    number   text PRIMARY KEY,
    name     text NOT NULL DEFAULT '',
    queue_id text NOT NULL REFERENCES queues (id),
    flow     text NOT NULL DEFAULT ''
);

-- One row per agent seat with its current, authoritative state. Every
-- change is also appended to agent_state_history.
CREATE TABLE agents (
    id          text PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    endpoint    text NOT NULL,
    state       text NOT NULL DEFAULT 'LOGGED_OUT',
    reason      text NOT NULL DEFAULT '',
    state_since timestamptz NOT NULL DEFAULT now(),
    -- when the agent last became idle (READY); longest-idle routing uses it
    idle_since  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_queues (
    agent_id text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    queue_id text NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, queue_id)
);

CREATE TABLE agent_state_history (
    id         bigserial PRIMARY KEY,
    agent_id   text NOT NULL REFERENCES agents (id),
    state      text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    contact_id bigint,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_state_history_agent_at ON agent_state_history (agent_id, at);

-- Customers looked up by calling number (the self-service bill line).
CREATE TABLE customers (
    number             text PRIMARY KEY,
    name               text NOT NULL DEFAULT '',
    current_bill_cents bigint NOT NULL DEFAULT 0,
    priority           integer NOT NULL DEFAULT 0
);

-- One row per call with every timestamp. `state` is where the call is now;
-- `disposition` is how it ended.
CREATE TABLE contacts (
    id               bigserial PRIMARY KEY,
    channel_id       text NOT NULL UNIQUE,
    service_number   text NOT NULL,
    caller           text NOT NULL DEFAULT '',
    queue_id         text,
    agent_id         text REFERENCES agents (id),
    agent_channel_id text,
    bridge_id        text,
    state            text NOT NULL DEFAULT 'ivr',
    disposition      text,
    hangup_by        text,
    arrived_at       timestamptz NOT NULL,
    ivr_end_at       timestamptz,
    queued_at        timestamptz,
    offered_at       timestamptz,
    answered_at      timestamptz,
    ended_at         timestamptz
);
CREATE INDEX contacts_live ON contacts (state) WHERE ended_at IS NULL;
CREATE INDEX contacts_arrived ON contacts (arrived_at);

-- The append-only contact log: every state change of every call and
-- agent. Reports derive from it.
CREATE TABLE contact_events (
    id         bigserial PRIMARY KEY,
    contact_id bigint REFERENCES contacts (id),
    agent_id   text,
    kind       text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_events_contact ON contact_events (contact_id, id);

-- The IVR trail: every prompt played and key pressed, in order.
CREATE TABLE ivr_trail (
    contact_id bigint NOT NULL REFERENCES contacts (id),
    seq        integer NOT NULL,
    at         timestamptz NOT NULL,
    node       text NOT NULL,
    kind       text NOT NULL,
    detail     text NOT NULL DEFAULT '',
    PRIMARY KEY (contact_id, seq)
);

CREATE TABLE recordings (
    id              bigserial PRIMARY KEY,
    contact_id      bigint NOT NULL REFERENCES contacts (id),
    name            text NOT NULL UNIQUE,
    path            text NOT NULL,
    format          text NOT NULL,
    bytes           bigint,
    seconds         double precision,
    bridged_seconds double precision,
    ok              boolean,
    problem         text NOT NULL DEFAULT '',
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz
);

-- +goose Down
DROP TABLE recordings;
DROP TABLE ivr_trail;
DROP TABLE contact_events;
DROP TABLE contacts;
DROP TABLE customers;
DROP TABLE agent_state_history;
DROP TABLE agent_queues;
DROP TABLE agents;
DROP TABLE service_numbers;
DROP TABLE queues;
