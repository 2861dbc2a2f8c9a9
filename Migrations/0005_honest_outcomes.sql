-- Real providers: clicks only record (workers submit), dialects, checked media, honest unknown outcomes,
-- and a provider breaker shared by every process.
--
-- New phase `unconfirmed`: a create was sent but its answer was lost and the provider's list could not
-- show the job. It is never resent; status is `failed` and the estimate counts as possibly billed until
-- an operator adopts the job (`promptreel generations adopt`).

ALTER TABLE generations
  -- Sent as Idempotency-Key with every create, so providers that honour it drop a duplicate.
  ADD COLUMN request_key        uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  -- The provider may have billed this failure (lost answer, timeout, undownloadable video): its
  -- actual_cost is then the estimate, so spend counts it.
  ADD COLUMN possibly_billed    boolean NOT NULL DEFAULT false,
  -- False until the provider sends a progress figure (LiteLLM's Veo path never does).
  ADD COLUMN progress_known     boolean NOT NULL DEFAULT false,
  -- The provider's own word for the state, as last seen (processing, running, …).
  ADD COLUMN provider_status    text,
  -- What ffprobe found in the stored video.
  ADD COLUMN delivered_seconds  numeric(9,2),
  ADD COLUMN delivered_width    integer,
  ADD COLUMN delivered_height   integer;

ALTER TABLE generations DROP CONSTRAINT generations_phase_check;
ALTER TABLE generations ADD CONSTRAINT generations_phase_check
  CHECK (phase IN ('waiting', 'submitting', 'submitted', 'downloading', 'done', 'unconfirmed'));
ALTER TABLE generations DROP CONSTRAINT generations_check;
ALTER TABLE generations ADD CONSTRAINT generations_finished_check
  CHECK ((status IN ('completed', 'failed')) = (phase IN ('done', 'unconfirmed')));
ALTER TABLE generations ADD CONSTRAINT generations_unconfirmed_check
  CHECK (phase <> 'unconfirmed' OR (status = 'failed' AND possibly_billed));
ALTER TABLE generations ADD CONSTRAINT generations_possibly_billed_check
  CHECK (NOT possibly_billed OR status = 'failed');

-- The median time to finish per model (for progress estimates when the provider sends no progress).
CREATE INDEX generations_model_completed ON generations (model, id DESC) WHERE status = 'completed';

-- One row: the provider's health as every process sees it. After `failure threshold` consecutive
-- failures (timeouts, refused connections, 5xx) new creates pause until `paused_until`; each new
-- pause doubles (30 s → 10 min); any success closes the breaker.
CREATE TABLE provider_health (
  id                   boolean PRIMARY KEY DEFAULT true CHECK (id),
  consecutive_failures integer NOT NULL DEFAULT 0,
  pause_seconds        integer NOT NULL DEFAULT 0,
  paused_until         timestamptz,
  last_failure         text,
  updated_at           timestamptz NOT NULL DEFAULT now()
);
INSERT INTO provider_health DEFAULT VALUES;
