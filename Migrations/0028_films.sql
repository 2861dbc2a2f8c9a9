-- A film: a project's chosen takes stitched in storyboard order into one MP4 by a worker. Each row keeps
-- what it was made from (the shots as they were), so a later change to the storyboard marks it out of
-- date without changing it; deleting a video keeps the film (it is a file of its own).
CREATE TABLE films (
  id               bigserial PRIMARY KEY,
  project_id       bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
  user_id          bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  transition       text NOT NULL CHECK (transition IN ('cut', 'crossfade')),
  crossfade_ms     integer CHECK (crossfade_ms BETWEEN 200 AND 2000),
  -- The size asked for (NULL: the size most shots have, decided by the worker), then the size made.
  requested_width  integer CHECK (requested_width BETWEEN 16 AND 4096),
  requested_height integer CHECK (requested_height BETWEEN 16 AND 4096),
  width            integer,
  height           integer,
  frame_rate       text,
  -- [{"videoId", "generationId", "seconds", "title"}] in storyboard order, as confirmed.
  shots            jsonb NOT NULL,
  -- "video:generation,…" in order when the film was asked for: the storyboard's own changes since make it out of date.
  signature        text NOT NULL,
  duration_seconds numeric(10,3),
  bytes            bigint,
  reencoded        boolean,
  video_path       text,
  poster_path      text,
  spritesheet_path text,
  error            text,
  attempts         integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  completed_at     timestamptz,
  CHECK ((transition = 'crossfade') = (crossfade_ms IS NOT NULL))
);
-- One film of a storyboard in the making at a time.
CREATE UNIQUE INDEX films_one_active_per_project ON films (project_id) WHERE status IN ('queued', 'running');
CREATE INDEX films_project ON films (project_id, id DESC);
CREATE INDEX films_waiting ON films (id) WHERE status IN ('queued', 'running');

-- The storyboard as a film would be made from it now: each shot's video and chosen take (the chosen one,
-- else the latest completed), in order. 0 for a shot without a completed take.
CREATE FUNCTION storyboard_signature(project bigint) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(string_agg(v.id || ':' || coalesce(coalesce(v.chosen_generation_id,
           (SELECT g.id FROM generations g WHERE g.video_id = v.id AND g.status = 'completed'
            ORDER BY g.completed_at DESC NULLS LAST, g.id DESC LIMIT 1)), 0), ',' ORDER BY v.position), '')
  FROM videos v WHERE v.project_id = project
$$;

-- A read-only link to one film for someone without an account: only the token's hash is kept.
CREATE TABLE film_links (
  id          bigserial PRIMARY KEY,
  film_id     bigint NOT NULL REFERENCES films ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX film_links_film ON film_links (film_id, id);

-- Webhooks gain film.completed and film.failed (endpoints opt in; the default stays the generation events).
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_events_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_events_check CHECK (cardinality(events) > 0
  AND events <@ ARRAY['generation.completed', 'generation.failed', 'film.completed', 'film.failed']);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_type_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_type_check
  CHECK (event_type IN ('generation.completed', 'generation.failed', 'film.completed', 'film.failed'));
ALTER TABLE webhook_deliveries ADD COLUMN film_id bigint REFERENCES films ON DELETE SET NULL;

-- One place queues an event's deliveries, for generations and films alike. FOR KEY SHARE: an endpoint being
-- deleted by a concurrent transaction is waited for and then skipped (see 0015).
CREATE FUNCTION queue_webhook_deliveries(owner bigint, event text, body text, generation bigint, film bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE queued integer;
BEGIN
  INSERT INTO webhook_deliveries (endpoint_id, user_id, generation_id, film_id, event_type, message_id, payload)
  SELECT e.id, e.user_id, generation, film, event, 'msg_' || replace(gen_random_uuid()::text, '-', ''), body
  FROM webhook_endpoints e
  WHERE e.user_id = owner AND event = ANY (e.events)
  FOR KEY SHARE OF e;
  GET DIAGNOSTICS queued = ROW_COUNT;
  IF queued > 0 THEN
    PERFORM pg_notify('promptreel_webhooks', '');
  END IF;
END $$;

CREATE OR REPLACE FUNCTION enqueue_generation_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event text := CASE NEW.status WHEN 'completed' THEN 'generation.completed' ELSE 'generation.failed' END;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE user_id = NEW.user_id AND event = ANY (events)) THEN
    RETURN NULL;
  END IF;
  PERFORM queue_webhook_deliveries(NEW.user_id, event, json_build_object(
    'type', event,
    'timestamp', iso(coalesce(NEW.completed_at, now())),
    'data', json_build_object(
      'id', NEW.id,
      'videoId', NEW.video_id,
      'jobId', coalesce(NEW.provider_job_id, NEW.id::text),
      'status', NEW.status,
      'model', NEW.model,
      'seconds', NEW.seconds::text,
      'size', NEW.size,
      'cost', CASE WHEN NEW.status = 'completed' THEN coalesce(NEW.actual_cost, NEW.estimated_cost)
                   ELSE coalesce(NEW.actual_cost, CASE WHEN NEW.possibly_billed THEN NEW.estimated_cost ELSE 0 END) END,
      'estimatedCost', NEW.estimated_cost,
      'possiblyBilled', NEW.possibly_billed,
      'error', CASE WHEN NEW.status = 'failed' THEN coalesce(NEW.error_message, 'The generation failed.') END,
      'errorCode', NEW.error_code,
      'videoUrl', CASE WHEN NEW.status = 'completed' AND NEW.video_path IS NOT NULL
                       THEN '/media/generations/' || NEW.id || '/video.mp4' END,
      'createdAt', iso(NEW.created_at),
      'completedAt', iso(NEW.completed_at)))::text, NEW.id, NULL);
  RETURN NULL;
END $$;

CREATE FUNCTION enqueue_film_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event text := CASE NEW.status WHEN 'completed' THEN 'film.completed' ELSE 'film.failed' END;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE user_id = NEW.user_id AND event = ANY (events)) THEN
    RETURN NULL;
  END IF;
  PERFORM queue_webhook_deliveries(NEW.user_id, event, json_build_object(
    'type', event,
    'timestamp', iso(coalesce(NEW.completed_at, now())),
    'data', json_build_object(
      'id', NEW.id,
      'projectId', NEW.project_id,
      'status', NEW.status,
      'transition', NEW.transition,
      'width', NEW.width,
      'height', NEW.height,
      'durationSeconds', NEW.duration_seconds,
      'bytes', NEW.bytes,
      'error', NEW.error,
      'videoUrl', CASE WHEN NEW.status = 'completed' THEN '/media/films/' || NEW.id || '/film.mp4' END,
      'createdAt', iso(NEW.created_at),
      'completedAt', iso(NEW.completed_at)))::text, NULL, NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER films_webhooks AFTER UPDATE OF status ON films
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('completed', 'failed'))
  EXECUTE FUNCTION enqueue_film_webhooks();
