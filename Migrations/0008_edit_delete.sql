-- Edit and delete. A video (or a project, and with it its videos) can be deleted, but never the money
-- record: generations, and roundtables (whose messages carry chat costs), outlive their video. Their
-- `video_id` becomes NULL, the video's title is kept, and a generation's media paths are cleared in the
-- deleting transaction, so no row ever points at a file that is about to go. The files themselves are
-- removed after the commit (or, after a crash in between, by `promptreel media sweep`).

ALTER TABLE generations
  ADD COLUMN video_title      text,         -- the video's title when it was deleted (NULL while it exists)
  ADD COLUMN video_deleted_at timestamptz,
  ALTER COLUMN video_id DROP NOT NULL,
  DROP CONSTRAINT generations_video_id_fkey,
  ADD CONSTRAINT generations_video_id_fkey FOREIGN KEY (video_id) REFERENCES videos ON DELETE SET NULL,
  -- The application refuses to delete a video while a generation of it is active or unconfirmed; this
  -- makes it impossible: no job in flight, and no media, without a video.
  ADD CONSTRAINT generations_deleted_video_check CHECK (
    video_id IS NOT NULL
    OR (phase = 'done' AND video_path IS NULL AND thumbnail_path IS NULL AND spritesheet_path IS NULL));

ALTER TABLE roundtables
  ADD COLUMN video_title text,
  ALTER COLUMN video_id DROP NOT NULL,
  DROP CONSTRAINT roundtables_video_id_fkey,
  ADD CONSTRAINT roundtables_video_id_fkey FOREIGN KEY (video_id) REFERENCES videos ON DELETE SET NULL,
  ADD CONSTRAINT roundtables_deleted_video_check CHECK (video_id IS NOT NULL OR status IN ('completed', 'failed'));

-- Runs for every deleted video, however it goes (the app, a project's cascade, plain SQL): keeps the
-- title on the records that stay and clears the media paths; the foreign keys then set video_id NULL.
CREATE FUNCTION keep_records_of_deleted_video() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE generations SET video_title = OLD.title, video_deleted_at = now(),
         video_path = NULL, thumbnail_path = NULL, spritesheet_path = NULL
  WHERE video_id = OLD.id;
  UPDATE roundtables SET video_title = OLD.title WHERE video_id = OLD.id;
  RETURN OLD;
END $$;
CREATE TRIGGER videos_keep_records BEFORE DELETE ON videos
  FOR EACH ROW EXECUTE FUNCTION keep_records_of_deleted_video();

-- The cache trigger of 0007, for rows whose video_id just became NULL: name the video they had.
CREATE OR REPLACE FUNCTION promptreel_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'generations' THEN
    PERFORM pg_notify('promptreel_cache', 'video:' || CASE WHEN TG_OP = 'INSERT' THEN NEW.video_id
                                                           WHEN TG_OP = 'DELETE' THEN OLD.video_id
                                                           ELSE coalesce(NEW.video_id, OLD.video_id) END);
  ELSIF TG_TABLE_NAME = 'videos' THEN
    PERFORM pg_notify('promptreel_cache', 'video:' || OLD.id);
  ELSIF TG_TABLE_NAME = 'projects' THEN
    PERFORM pg_notify('promptreel_cache', 'all');
  ELSE
    PERFORM pg_notify('promptreel_cache', 'auth');
  END IF;
  RETURN NULL;
END $$;
