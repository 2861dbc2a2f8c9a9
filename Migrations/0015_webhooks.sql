-- Outbound webhooks (Standard Webhooks): per user, endpoints with a secret, and one delivery row per
-- event and endpoint, enqueued by a trigger in the very transaction that gives a generation its final
-- status (so an event is never lost, nor sent for a state that rolled back). Workers deliver: at least
-- once, retried with backoff for 24 h; each attempt is kept.
--
-- The secret is stored as issued (`whsec_…`): signing needs it in clear. Whoever can read this table can
-- sign webhooks for its users' receivers, as whoever can read the database can already read everything.

CREATE TABLE webhook_endpoints (
  id          bigserial PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  url         text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
  events      text[] NOT NULL CHECK (cardinality(events) > 0
                                     AND events <@ ARRAY['generation.completed', 'generation.failed']),
  secret      text NOT NULL CHECK (secret LIKE 'whsec\_%'),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_user ON webhook_endpoints (user_id, id);

-- One event for one endpoint. `message_id` is the `webhook-id` header: the same on every attempt and on
-- "send again" (receivers deduplicate by it). `payload` is the exact body, fixed when the event happened.
-- `window_started_at`: the first attempt of the current round (a "send again" starts a new round); retries
-- stop 24 h after it. `round_attempts` counts this round's attempts (it picks the backoff delay), `attempts`
-- all of them. `leased_until`: set while a worker is attempting it (cleared when it records the outcome).
CREATE TABLE webhook_deliveries (
  id                 bigserial PRIMARY KEY,
  endpoint_id        bigint NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
  user_id            bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  generation_id      bigint REFERENCES generations ON DELETE SET NULL,
  event_type         text NOT NULL CHECK (event_type IN ('generation.completed', 'generation.failed')),
  message_id         text NOT NULL UNIQUE,
  payload            text NOT NULL,
  status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts           integer NOT NULL DEFAULT 0,
  round_attempts     integer NOT NULL DEFAULT 0,
  leased_until       timestamptz,
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  window_started_at  timestamptz,
  last_attempt_at    timestamptz,
  last_status_code   integer,
  last_error         text,
  delivered_at       timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id DESC);
-- Retention: finished deliveries older than 30 days are deleted by the workers.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
  id            bigserial PRIMARY KEY,
  delivery_id   bigint NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
  attempted_at  timestamptz NOT NULL DEFAULT now(),
  -- delivered: 2xx; rejected: another status; unreachable: no answer (DNS, connect, timeout);
  -- refused: the address is not allowed (SSRF rule), nothing was sent.
  outcome       text NOT NULL CHECK (outcome IN ('delivered', 'rejected', 'unreachable', 'refused')),
  status_code   integer,
  error         text,
  duration_ms   integer NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- A generation reaching completed or failed enqueues one delivery per endpoint of its owner subscribed
-- to that event, and wakes the delivery workers when the transaction commits. (An adopted `unconfirmed`
-- generation that later completes sends generation.completed after its generation.failed: both happened.)
CREATE FUNCTION enqueue_generation_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event text := CASE NEW.status WHEN 'completed' THEN 'generation.completed' ELSE 'generation.failed' END;
  body text;
  queued integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE user_id = NEW.user_id AND event = ANY (events)) THEN
    RETURN NULL;
  END IF;
  body := json_build_object(
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
      'completedAt', iso(NEW.completed_at)))::text;
  -- FOR KEY SHARE: an endpoint being deleted by a concurrent transaction is waited for and then skipped
  -- (READ COMMITTED drops a row deleted meanwhile). Without it the insert's foreign key check would fail
  -- once the delete commits, and roll back the generation's own state change.
  INSERT INTO webhook_deliveries (endpoint_id, user_id, generation_id, event_type, message_id, payload)
  SELECT e.id, e.user_id, NEW.id, event, 'msg_' || replace(gen_random_uuid()::text, '-', ''), body
  FROM webhook_endpoints e
  WHERE e.user_id = NEW.user_id AND event = ANY (e.events)
  FOR KEY SHARE OF e;
  GET DIAGNOSTICS queued = ROW_COUNT;
  IF queued > 0 THEN
    PERFORM pg_notify('promptreel_webhooks', '');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER generations_enqueue_webhooks AFTER UPDATE OF status ON generations
  FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION enqueue_generation_webhooks();
