-- Several takes per click, and remixes of a finished video.
--
-- A click is a row of its own (`generation_batches`): it starts `takes` generations with the same
-- settings, in the transaction that records it. "One active generation per video" becomes "one active
-- click per video": a batch is active while any of its generations is queued or in progress, so two
-- clicks (two tabs, two processes) still start exactly N provider jobs.

ALTER TABLE video_models ADD COLUMN supports_remix boolean NOT NULL DEFAULT true;

CREATE TABLE generation_batches (
  id          bigserial PRIMARY KEY,
  -- NULL once the video is deleted: a click, like its generations, is part of the money record (0008).
  video_id    bigint REFERENCES videos ON DELETE SET NULL,
  user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  takes       integer NOT NULL CHECK (takes BETWEEN 1 AND 4),
  total_cost  numeric(12,2) NOT NULL CHECK (total_cost >= 0),   -- the sum of its takes' estimates, as confirmed
  -- Kept true exactly while one of its generations is queued or in progress (the trigger below).
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX generation_batches_one_active_per_video ON generation_batches (video_id) WHERE active;
CREATE INDEX generation_batches_video ON generation_batches (video_id, id DESC);

ALTER TABLE generations
  ADD COLUMN batch_id bigint REFERENCES generation_batches ON DELETE SET NULL,
  -- A remix: our generation it remixed, and that generation's provider job (what the provider is asked to remix).
  ADD COLUMN remixed_from_generation_id bigint REFERENCES generations ON DELETE SET NULL,
  ADD COLUMN remix_source_job_id text,
  -- The provider's own `expires_at` (NULL when it sent none): until then it can remix the video.
  -- (`expires_at` also holds PromptReel's own download deadline when the provider sent none.)
  ADD COLUMN provider_expires_at timestamptz,
  ADD CONSTRAINT generations_remix_source_check CHECK ((remixed_from_generation_id IS NULL) OR (remix_source_job_id IS NOT NULL));
CREATE INDEX generations_batch ON generations (batch_id, id);

-- Every existing generation becomes a click of one take.
DO $$
DECLARE r record; batch bigint;
BEGIN
  FOR r IN SELECT id, video_id, user_id, estimated_cost, status, created_at FROM generations ORDER BY id LOOP
    INSERT INTO generation_batches (video_id, user_id, takes, total_cost, active, created_at)
    VALUES (r.video_id, r.user_id, 1, r.estimated_cost, r.status IN ('queued', 'in_progress'), r.created_at)
    RETURNING id INTO batch;
    UPDATE generations SET batch_id = batch WHERE id = r.id;
  END LOOP;
END $$;
-- provider_expires_at stays NULL for older rows: their expires_at may be PromptReel's own download
-- deadline (the provider sent none), so their expiry is unknown and remix is offered; the provider decides.

DROP INDEX generations_one_active_per_video;

-- A generation inserted without a batch (plain SQL, older code) gets a batch of its own, so the one
-- active click per video holds for every writer.
CREATE FUNCTION generations_default_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.batch_id IS NULL THEN
    INSERT INTO generation_batches (video_id, user_id, takes, total_cost, active)
    VALUES (NEW.video_id, NEW.user_id, 1, NEW.estimated_cost, coalesce(NEW.status, 'queued') IN ('queued', 'in_progress'))
    RETURNING id INTO NEW.batch_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER generations_default_batch BEFORE INSERT ON generations
  FOR EACH ROW EXECUTE FUNCTION generations_default_batch();

-- The batch's flag follows its generations. Locking the batch row first serialises the takes of one
-- batch finishing at once, and the next statement (a new snapshot) sees the takes committed before:
-- the last take to finish always clears the flag. Becoming active again (an adoption) while another
-- click of the video is active violates the unique index, as it should.
CREATE FUNCTION generation_batches_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.batch_id IS NULL THEN RETURN NULL; END IF;
  PERFORM 1 FROM generation_batches WHERE id = NEW.batch_id FOR UPDATE;
  UPDATE generation_batches b
     SET active = EXISTS (SELECT 1 FROM generations WHERE batch_id = b.id AND status IN ('queued', 'in_progress'))
   WHERE b.id = NEW.batch_id;
  RETURN NULL;
END $$;
CREATE TRIGGER generation_batches_follow AFTER UPDATE OF status ON generations
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION generation_batches_follow();
