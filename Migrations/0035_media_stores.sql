-- Media in more than one store: each media row records which store holds its files — `local` (the media
-- directory) or `s3://bucket/prefix` — and reads follow the row. Rows written before this were local.
ALTER TABLE generations ADD COLUMN media_store text NOT NULL DEFAULT 'local' CHECK (media_store <> '');
ALTER TABLE films ADD COLUMN media_store text NOT NULL DEFAULT 'local' CHECK (media_store <> '');
ALTER TABLE video_reference_images ADD COLUMN media_store text NOT NULL DEFAULT 'local' CHECK (media_store <> '');

-- Files whose rows are gone, removed by a worker after the commit (never on a request thread: the store may be
-- a bucket across a network). Queued in the deleting transaction, so a crash loses no removal; the media sweep
-- still catches whatever is left behind.
CREATE TABLE media_deletions (
  id              bigserial PRIMARY KEY,
  media_store     text NOT NULL CHECK (media_store <> ''),
  -- Every object under it goes: `12/`, `films/3/`, `references/7/`.
  prefix          text NOT NULL CHECK (prefix ~ '^[a-z0-9]+(/[a-z0-9]+)*/$'),
  queued_at       timestamptz NOT NULL DEFAULT now(),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_deletions_due ON media_deletions (next_attempt_at);

-- A deleted video (by the app, a project's cascade or plain SQL): as in 0011, and its generations' folders and
-- its own reference folder (the layout before shared reference files) are queued for removal.
CREATE OR REPLACE FUNCTION keep_records_of_deleted_video() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO media_deletions (media_store, prefix)
    SELECT media_store, id || '/' FROM generations WHERE video_id = OLD.id
    UNION ALL SELECT 'local', 'references/' || OLD.id || '/';
  UPDATE generations SET video_title = OLD.title, video_deleted_at = now(),
         video_path = NULL, thumbnail_path = NULL, spritesheet_path = NULL,
         reference_path = NULL, reference_fitted_path = NULL, reference_fit = NULL, reference_content_type = NULL
  WHERE video_id = OLD.id;
  UPDATE roundtables SET video_title = OLD.title WHERE video_id = OLD.id;
  RETURN OLD;
END $$;

-- A deleted film (by its owner, or with its project): its folder is queued.
CREATE FUNCTION queue_deleted_film_media() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO media_deletions (media_store, prefix) VALUES (OLD.media_store, 'films/' || OLD.id || '/');
  RETURN NULL;
END $$;
CREATE TRIGGER films_queue_media AFTER DELETE ON films
  FOR EACH ROW EXECUTE FUNCTION queue_deleted_film_media();

-- A finished generation whose media the store has not taken yet (unreachable, 5xx, SlowDown): the store's error
-- code, so its page says "storing the video"; it waits (no deadline: the video is billed) and is cleared on success.
ALTER TABLE generations ADD COLUMN storage_problem text CHECK (length(storage_problem) <= 100);

-- How each media store answered the workers last (a probe every 15 s and every storing failure): /healthz reads it,
-- so a request thread never calls the store to say whether it is well.
CREATE TABLE media_store_health (
  media_store text PRIMARY KEY CHECK (media_store <> ''),
  ok          boolean NOT NULL,
  error_code  text CHECK (length(error_code) <= 100),
  checked_at  timestamptz NOT NULL DEFAULT now()
);
