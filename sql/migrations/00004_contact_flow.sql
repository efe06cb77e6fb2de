-- +goose Up
-- Which IVR flow version a call ran (a deploy changes new calls only, so
-- calls of one minute can differ), how it left the flow, the caller's
-- post-call survey score and a voice message left in the IVR.
ALTER TABLE contacts
    ADD COLUMN ivr_flow      text,
    ADD COLUMN ivr_version   integer,
    ADD COLUMN ivr_outcome   text,
    ADD COLUMN survey_score  smallint CHECK (survey_score BETWEEN 1 AND 10),
    ADD COLUMN voicemail     text;

-- +goose Down
ALTER TABLE contacts
    DROP COLUMN ivr_flow,
    DROP COLUMN ivr_version,
    DROP COLUMN ivr_outcome,
    DROP COLUMN survey_score,
    DROP COLUMN voicemail;
