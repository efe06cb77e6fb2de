-- +goose Up
-- Callbacks: a place in line without a caller on the line. The ACD keeps
-- the live ones; every change of status is written here so that pending
-- callbacks are restored, in place order, after a restart.
CREATE TABLE callbacks (
    id              bigserial PRIMARY KEY,
    queue           text NOT NULL REFERENCES queues (id),
    number          text NOT NULL CHECK (number ~ '^\+?[0-9]{1,20}$'),
    source          text NOT NULL CHECK (source IN ('phone', 'web')),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    -- the place in line: when the caller joined the queue (phone) or asked (web)
    place_at        timestamptz NOT NULL,
    priority        integer NOT NULL DEFAULT 0,
    mode            text NOT NULL DEFAULT 'customer-first' CHECK (mode IN ('customer-first', 'agent-first')),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'offered', 'scheduled', 'completed', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    outcome         text NOT NULL DEFAULT '',
    contact_id      bigint REFERENCES contacts (id),
    agent           text REFERENCES agents (id),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX callbacks_open ON callbacks (place_at, id) WHERE status IN ('pending', 'offered', 'scheduled');

-- The not-ready reasons agents choose from (acd.Reasons): *24 + digit on
-- the desk phone, or the name through the API and CLI.
CREATE TABLE not_ready_reasons (
    code  integer PRIMARY KEY,
    digit text NOT NULL UNIQUE,
    name  text NOT NULL UNIQUE
);
INSERT INTO not_ready_reasons (code, digit, name) VALUES
    (1, '1', 'meal'),
    (2, '2', 'meeting'),
    (3, '3', 'training'),
    (4, '4', 'break'),
    (5, '5', 'after-call paperwork');

-- The agent's PIN for logging in from a phone: PBKDF2-SHA256 with a
-- per-agent random salt. The PIN itself is never stored.
ALTER TABLE agents
    ADD COLUMN pin_hash       bytea,
    ADD COLUMN pin_salt       bytea,
    ADD COLUMN pin_iterations integer,
    ADD COLUMN pin_set_at     timestamptz;

-- +goose Down
ALTER TABLE agents
    DROP COLUMN pin_set_at,
    DROP COLUMN pin_iterations,
    DROP COLUMN pin_salt,
    DROP COLUMN pin_hash;
DROP TABLE not_ready_reasons;
DROP TABLE callbacks;
