-- +goose Up
-- IVR flow versions. `hotline ivr deploy` stores the flow's file together
-- with every sub-flow file it references (one bundle, file name → source),
-- so activating a version, or rolling back to one, always restores a
-- consistent set. Versions are numbered per flow from 1 and never change.
CREATE TABLE ivr_flow_versions (
    flow        text NOT NULL CHECK (flow <> ''),
    version     integer NOT NULL CHECK (version >= 1),
    -- the bundle key of the flow's own file (e.g. main.yaml)
    entry       text NOT NULL,
    -- file name → source text
    files       jsonb NOT NULL CHECK (jsonb_typeof(files) = 'object'),
    -- hex sha256 of the bundle (see store.BundleSHA256)
    sha256      text NOT NULL CHECK (length(sha256) = 64),
    deployed_at timestamptz NOT NULL DEFAULT now(),
    deployed_by text NOT NULL DEFAULT '',
    comment     text NOT NULL DEFAULT '',
    PRIMARY KEY (flow, version),
    CHECK (files ? entry)
);

-- The version new calls of a flow get. A call in progress keeps the
-- version it loaded when it started.
CREATE TABLE ivr_flow_active (
    flow       text PRIMARY KEY,
    version    integer NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text NOT NULL DEFAULT '',
    FOREIGN KEY (flow, version) REFERENCES ivr_flow_versions (flow, version)
);

-- Every change of the active version: deploys and rollbacks, in order.
CREATE TABLE ivr_flow_events (
    id           bigserial PRIMARY KEY,
    flow         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('deploy', 'rollback')),
    from_version integer,
    to_version   integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    by           text NOT NULL DEFAULT '',
    comment      text NOT NULL DEFAULT '',
    FOREIGN KEY (flow, to_version) REFERENCES ivr_flow_versions (flow, version)
);
CREATE INDEX ivr_flow_events_flow ON ivr_flow_events (flow, id);

-- Announcements changed without a deploy: outage notices per area,
-- tariff news, an emergency message that pre-empts the menu. A notice
-- plays from starts_at until ends_at (NULL: until ended), unless ended
-- earlier with `hotline notice end` (ended_at).
CREATE TABLE ivr_notices (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('outage', 'tariff', 'emergency')),
    -- caller-number prefix or area code; '' = everywhere
    area_prefix text NOT NULL DEFAULT '' CHECK (area_prefix ~ '^[0-9]*$'),
    prompt      text NOT NULL CHECK (prompt LIKE 'sound:_%'),
    text        text NOT NULL DEFAULT '',
    starts_at   timestamptz NOT NULL DEFAULT now(),
    ends_at     timestamptz CHECK (ends_at IS NULL OR ends_at > starts_at),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT '',
    ended_at    timestamptz,
    ended_by    text NOT NULL DEFAULT ''
);
-- The per-call look-up reads only notices not ended.
CREATE INDEX ivr_notices_live ON ivr_notices (starts_at, ends_at) WHERE ended_at IS NULL;

-- +goose Down
DROP TABLE ivr_notices;
DROP TABLE ivr_flow_events;
DROP TABLE ivr_flow_active;
DROP TABLE ivr_flow_versions;
