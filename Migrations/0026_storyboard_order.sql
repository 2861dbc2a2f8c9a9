-- A project is a storyboard: its videos are shots in an order the user controls, dense from 1 (no two
-- shots share a place, none is skipped), kept so by the database whatever inserts or deletes a video.
-- Each shot may name its chosen take (NULL: the latest completed generation).
ALTER TABLE videos ADD COLUMN position integer;
UPDATE videos v SET position = n.rn
FROM (SELECT id, row_number() OVER (PARTITION BY project_id ORDER BY created_at, id) AS rn FROM videos) n
WHERE n.id = v.id;
ALTER TABLE videos ALTER COLUMN position SET NOT NULL;
ALTER TABLE videos ADD CONSTRAINT videos_position_positive CHECK (position >= 1);
-- Checked at commit, so a move can shift the shots between two places in one statement.
ALTER TABLE videos ADD CONSTRAINT videos_project_position UNIQUE (project_id, position) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE videos ADD COLUMN chosen_generation_id bigint REFERENCES generations(id) ON DELETE SET NULL;

-- A new shot goes last. The project row is locked first (as deleting and moving do), so two videos added
-- at once take two places.
CREATE FUNCTION videos_take_last_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM projects WHERE id = NEW.project_id FOR NO KEY UPDATE;
  NEW.position := (SELECT coalesce(max(position), 0) + 1 FROM videos WHERE project_id = NEW.project_id);
  RETURN NEW;
END $$;
CREATE TRIGGER videos_position_on_insert BEFORE INSERT ON videos
  FOR EACH ROW EXECUTE FUNCTION videos_take_last_position();

-- A deleted shot's place closes (unless the whole project goes).
CREATE FUNCTION videos_close_position_gap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM projects WHERE id = OLD.project_id) THEN
    UPDATE videos SET position = position - 1 WHERE project_id = OLD.project_id AND position > OLD.position;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER videos_position_on_delete AFTER DELETE ON videos
  FOR EACH ROW EXECUTE FUNCTION videos_close_position_gap();

-- Moves `video` to `target` (clamped to 1..the number of shots), shifting the shots between; returns the
-- place it took. Under the project's lock: concurrent moves take turns.
CREATE FUNCTION move_video(video bigint, target integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  project bigint;
  old integer;
  shots integer;
BEGIN
  SELECT project_id INTO project FROM videos WHERE id = video;
  IF project IS NULL THEN RETURN NULL; END IF;
  PERFORM 1 FROM projects WHERE id = project FOR NO KEY UPDATE;
  SELECT position INTO old FROM videos WHERE id = video;
  SELECT count(*) INTO shots FROM videos WHERE project_id = project;
  target := least(greatest(target, 1), shots);
  IF target < old THEN
    UPDATE videos SET position = position + 1 WHERE project_id = project AND position >= target AND position < old;
  ELSIF target > old THEN
    UPDATE videos SET position = position - 1 WHERE project_id = project AND position > old AND position <= target;
  END IF;
  UPDATE videos SET position = target WHERE id = video;
  RETURN target;
END $$;

-- Moving shots changes no cached answer (status, generations): only other changes to a video notify.
DROP TRIGGER videos_cache ON videos;
CREATE TRIGGER videos_cache AFTER DELETE ON videos
  FOR EACH ROW EXECUTE FUNCTION promptreel_cache_notify();
CREATE TRIGGER videos_cache_update AFTER UPDATE ON videos
  FOR EACH ROW WHEN (OLD.position IS NOT DISTINCT FROM NEW.position)
  EXECUTE FUNCTION promptreel_cache_notify();

-- A video moved to another project (by an operator: the app never does) goes last there and closes its place.
CREATE FUNCTION videos_change_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM projects WHERE id IN (OLD.project_id, NEW.project_id) ORDER BY id FOR NO KEY UPDATE;
  UPDATE videos SET position = position - 1 WHERE project_id = OLD.project_id AND position > OLD.position;
  NEW.position := (SELECT coalesce(max(position), 0) + 1 FROM videos WHERE project_id = NEW.project_id AND id <> NEW.id);
  RETURN NEW;
END $$;
CREATE TRIGGER videos_position_on_project_change BEFORE UPDATE OF project_id ON videos
  FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id) EXECUTE FUNCTION videos_change_project();
