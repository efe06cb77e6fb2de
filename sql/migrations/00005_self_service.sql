-- +goose Up
-- What the shipped IVR flows look up for self-service (ivr-scripts/
-- queries.yaml): bill history and arrears, the area of a customer's
-- service address (outage notices by area), and the service password a
-- caller may change by phone. Passwords are bcrypt hashes made by
-- pgcrypto inside Postgres: the clear password exists only as a query
-- parameter.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE bills (
    number       text NOT NULL,
    period       date NOT NULL,            -- the month billed (its first day)
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    paid_cents   bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    due_date     date NOT NULL,
    PRIMARY KEY (number, period)
);

CREATE TABLE customer_areas (
    number text PRIMARY KEY,
    area   text NOT NULL CHECK (area ~ '^[0-9]{2,8}$')
);

CREATE TABLE service_passwords (
    number        text PRIMARY KEY,
    password_hash text NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE service_passwords;
DROP TABLE customer_areas;
DROP TABLE bills;
