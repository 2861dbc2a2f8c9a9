-- Generations: one row per attempt to turn a saved video into a real one — the audit trail, and
-- everything a worker needs to resume after a crash.
--
-- `status` is what users see (queued, in_progress, completed, failed). `phase` is the worker's
-- state machine:
--   waiting      not sent yet (queued locally: the in-flight limit, or a 429's Retry-After)
--   submitting   the create call is (or was) in flight: the intent, written before calling
--   submitted    the provider has the job (provider_job_id is set); being polled
--   downloading  the provider finished; media is being copied into the media store
--   done         completed or failed, for good
-- `next_attempt_at` is the earliest moment anyone may touch the row upstream again: claiming work
-- bumps it, so across every process at most one upstream call per generation per interval.

CREATE TABLE generations (
  id                  bigserial PRIMARY KEY,
  video_id            bigint NOT NULL REFERENCES videos ON DELETE CASCADE,
  user_id             bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  settings            jsonb NOT NULL,          -- as the user chose them, plus the API's model/seconds/size
  prompt              text NOT NULL,           -- exactly what was sent
  model               text NOT NULL,
  seconds             integer NOT NULL,
  size                text NOT NULL,
  resolution          text NOT NULL,
  status              text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'in_progress', 'completed', 'failed')),
  phase               text NOT NULL DEFAULT 'waiting' CHECK (phase IN ('waiting', 'submitting', 'submitted', 'downloading', 'done')),
  progress            integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  provider_job_id     text UNIQUE,
  provider_request_id text,
  estimated_cost      numeric(12,2) NOT NULL CHECK (estimated_cost >= 0),
  actual_cost         numeric(12,2) CHECK (actual_cost >= 0),
  error_code          text,
  error_message       text,
  submit_attempts     integer NOT NULL DEFAULT 0,
  polls               integer NOT NULL DEFAULT 0,
  next_attempt_at     timestamptz NOT NULL DEFAULT now(),
  last_checked_at     timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  submit_started_at   timestamptz,
  submitted_at        timestamptz,
  started_at          timestamptz,
  completed_at        timestamptz,
  expires_at          timestamptz,
  result_seconds      text,
  result_size         text,
  video_path          text, video_bytes bigint, video_sha256 text,
  thumbnail_path      text, thumbnail_bytes bigint, thumbnail_sha256 text,
  spritesheet_path    text, spritesheet_bytes bigint, spritesheet_sha256 text,
  -- Optional assets given up on (a gateway without thumbnails), so they are not retried forever.
  thumbnail_skipped   boolean NOT NULL DEFAULT false,
  spritesheet_skipped boolean NOT NULL DEFAULT false,
  download_attempts   integer NOT NULL DEFAULT 0,
  CHECK ((status IN ('completed', 'failed')) = (phase = 'done'))
);

-- Two clicks, two tabs, two processes: the database lets only one generation per video be active.
CREATE UNIQUE INDEX generations_one_active_per_video ON generations (video_id) WHERE status IN ('queued', 'in_progress');
CREATE INDEX generations_video ON generations (video_id, id DESC);
CREATE INDEX generations_user_created ON generations (user_id, created_at);
CREATE INDEX generations_work ON generations (phase, next_attempt_at) WHERE phase <> 'done';

-- The eight field names of the original design, per video, for its latest generation: a view over
-- the one truth above, never a second copy.
CREATE VIEW video_sora_fields AS
SELECT v.id AS video_id,
       g.id AS generation_id,
       g.provider_job_id AS sora_job_id,
       g.status AS sora_generation_status,
       CASE WHEN g.status = 'completed' THEN '/media/generations/' || g.id || '/video.mp4' END AS sora_video_url,
       g.settings AS sora_generation_settings,
       CASE WHEN g.status = 'completed' THEN g.actual_cost
            WHEN g.status = 'failed' THEN coalesce(g.actual_cost, 0)
            ELSE g.estimated_cost END AS sora_generation_cost,
       g.error_message AS sora_error_message,
       g.started_at AS sora_started_at,
       g.completed_at AS sora_completed_at
FROM videos v
LEFT JOIN LATERAL (SELECT * FROM generations WHERE video_id = v.id ORDER BY id DESC LIMIT 1) g ON true;
