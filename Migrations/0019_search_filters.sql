-- Search, filters and sorts over saved videos, fast at tens of thousands of videos per project.
-- The database keeps three things on each video row, whoever writes (the app, workers, plain SQL):
--  * `search`: the title, brief and final prompt as a tsvector in the configured text-search language
--    (one row in `search_settings`; `promptreel search-language <name>` changes it and rebuilds);
--  * `user_id`: the project's owner, so lists across a user's projects read one index;
--  * the latest generation's id, status, model and time, so "latest status" filters and the "last
--    generated" sort read the row instead of the generations of every video.
-- and each project row keeps its number of videos (the dashboard lists it; counting 50,000 rows per
-- project per page view would not do).

-- The language is text, cast where used: pg_upgrade refuses tables with regconfig (an OID) columns.
CREATE TABLE search_settings (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  language  text NOT NULL DEFAULT 'english' CHECK (language::regconfig IS NOT NULL)
);
INSERT INTO search_settings DEFAULT VALUES;

ALTER TABLE videos
  ADD COLUMN search tsvector,
  ADD COLUMN user_id bigint,
  ADD COLUMN last_generation_id bigint NOT NULL DEFAULT 0,  -- 0: never generated (sorts last)
  ADD COLUMN last_generation_status text,
  ADD COLUMN last_generation_model text,
  ADD COLUMN last_generated_at timestamptz;

CREATE FUNCTION video_search_document(language regconfig, title text, brief text, final_prompt text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector(language, title), 'A') || setweight(to_tsvector(language, final_prompt), 'B')
      || setweight(to_tsvector(language, brief), 'C')
$$;

CREATE FUNCTION videos_keep_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.project_id IS DISTINCT FROM OLD.project_id THEN
    NEW.user_id := (SELECT user_id FROM projects WHERE id = NEW.project_id);
  END IF;
  IF TG_OP = 'INSERT' OR NEW.title IS DISTINCT FROM OLD.title OR NEW.brief IS DISTINCT FROM OLD.brief
     OR NEW.final_prompt IS DISTINCT FROM OLD.final_prompt OR NEW.search IS NULL THEN
    NEW.search := video_search_document((SELECT language::regconfig FROM search_settings), NEW.title, NEW.brief, NEW.final_prompt);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER videos_keep_derived BEFORE INSERT OR UPDATE ON videos
  FOR EACH ROW EXECUTE FUNCTION videos_keep_derived();

CREATE FUNCTION projects_owner_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE videos SET user_id = NEW.user_id WHERE project_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER projects_owner_follow AFTER UPDATE OF user_id ON projects
  FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id) EXECUTE FUNCTION projects_owner_follow();

-- The app never deletes a generation, nor changes its video or model (money records; Migrations/0008):
-- these follow inserts and status changes only.
-- New generations: one UPDATE per statement (a seed of a million rows costs one pass, not a million).
CREATE FUNCTION videos_follow_new_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE videos v SET last_generation_id = g.id, last_generation_status = g.status, last_generation_model = g.model,
                      last_generated_at = g.created_at
  FROM (SELECT DISTINCT ON (video_id) video_id, id, status, model, created_at FROM new_generations
        WHERE video_id IS NOT NULL ORDER BY video_id, id DESC) g
  WHERE v.id = g.video_id AND v.last_generation_id < g.id;
  RETURN NULL;
END $$;
CREATE TRIGGER generations_follow_insert AFTER INSERT ON generations
  REFERENCING NEW TABLE AS new_generations FOR EACH STATEMENT EXECUTE FUNCTION videos_follow_new_generations();

CREATE FUNCTION videos_follow_generation_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE videos SET last_generation_status = NEW.status WHERE id = NEW.video_id AND last_generation_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER generations_follow_status AFTER UPDATE OF status ON generations
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION videos_follow_generation_status();

-- Existing rows.
UPDATE videos v SET user_id = p.user_id FROM projects p WHERE p.id = v.project_id;
UPDATE videos v SET last_generation_id = g.id, last_generation_status = g.status, last_generation_model = g.model,
                    last_generated_at = g.created_at
FROM (SELECT DISTINCT ON (video_id) video_id, id, status, model, created_at FROM generations
      WHERE video_id IS NOT NULL ORDER BY video_id, id DESC) g
WHERE v.id = g.video_id;
ALTER TABLE videos ALTER COLUMN user_id SET NOT NULL, ALTER COLUMN search SET NOT NULL;

ALTER TABLE projects ADD COLUMN video_count bigint NOT NULL DEFAULT 0;
UPDATE projects p SET video_count = (SELECT count(*) FROM videos v WHERE v.project_id = p.id);

-- One UPDATE per statement and project (a project's delete cascades to its videos: its row is gone by
-- then and the update finds nothing, as it should).
CREATE FUNCTION projects_count_videos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE projects p SET video_count = p.video_count + n.count
    FROM (SELECT project_id, count(*) FROM changed_videos GROUP BY project_id) n WHERE p.id = n.project_id;
  ELSE
    UPDATE projects p SET video_count = p.video_count - n.count
    FROM (SELECT project_id, count(*) FROM changed_videos GROUP BY project_id) n WHERE p.id = n.project_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER videos_counted_insert AFTER INSERT ON videos
  REFERENCING NEW TABLE AS changed_videos FOR EACH STATEMENT EXECUTE FUNCTION projects_count_videos();
CREATE TRIGGER videos_counted_delete AFTER DELETE ON videos
  REFERENCING OLD TABLE AS changed_videos FOR EACH STATEMENT EXECUTE FUNCTION projects_count_videos();

CREATE FUNCTION projects_recount_moved_video() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE projects SET video_count = video_count - 1 WHERE id = OLD.project_id;
  UPDATE projects SET video_count = video_count + 1 WHERE id = NEW.project_id;
  RETURN NULL;
END $$;
CREATE TRIGGER videos_counted_move AFTER UPDATE OF project_id ON videos
  FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id) EXECUTE FUNCTION projects_recount_moved_video();

-- Switches the language and rebuilds every video's document in one transaction. The lock keeps out
-- writers that read the old language and would commit after the rebuild passed their row.
CREATE FUNCTION set_search_language(new_language regconfig) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE search_settings, videos IN SHARE ROW EXCLUSIVE MODE;
  UPDATE search_settings SET language = new_language::text;
  UPDATE videos SET search = video_search_document(new_language, title, brief, final_prompt);
END $$;

-- One index per list order, in a project and across a user's projects; the filters ride along.
CREATE INDEX videos_search ON videos USING gin (search);
CREATE INDEX videos_user_id ON videos (user_id, id);
CREATE INDEX videos_project_edited ON videos (project_id, updated_at, id);
CREATE INDEX videos_user_edited ON videos (user_id, updated_at, id);
CREATE INDEX videos_project_generated ON videos (project_id, last_generation_id, id);
CREATE INDEX videos_user_generated ON videos (user_id, last_generation_id, id);
CREATE INDEX videos_project_title ON videos (project_id, lower(title), id);
CREATE INDEX videos_user_title ON videos (user_id, lower(title), id);
ANALYZE search_settings;
-- Chat calls whose provider reported no usage (Migrations/0017) are rare: the dashboard counts this month's
-- from this small index instead of reading every message.
CREATE INDEX roundtable_messages_cost_unknown ON roundtable_messages (roundtable_id) WHERE cost IS NULL;
-- Rare statuses (in progress, failed, never) are found through these instead of walking a whole order.
CREATE INDEX videos_project_status ON videos (project_id, last_generation_status);
CREATE INDEX videos_user_status ON videos (user_id, last_generation_status);

-- Spend without the join: usage_items (Migrations/0017) joined videos for `project_id`, so a sum that never
-- reads the project (the dashboard's month spend, a click's budget check) still paid a video lookup per
-- generation — 6,000 of them, ~45 ms, for a busy month (scripts/bench scale). `spend_items` is now the one
-- definition of what counts and when (0014/0017's expressions, unchanged); usage_items adds the project.
CREATE VIEW spend_items AS
SELECT 'generation'::text AS kind, g.id, g.user_id, g.created_at, g.model, g.video_id, g.status,
       coalesce(g.actual_cost, g.estimated_cost)::numeric AS spend,
       CASE WHEN g.possibly_billed THEN coalesce(g.actual_cost, g.estimated_cost) ELSE 0 END::numeric AS possibly_billed,
       CASE WHEN g.status = 'completed' THEN extract(epoch FROM g.completed_at - g.created_at) END AS finish_seconds,
       CASE WHEN g.status = 'failed' THEN coalesce(g.error_code, 'unknown') END AS failure_code,
       0::bigint AS unknown_cost_calls
FROM generations g
UNION ALL
SELECT 'roundtable', r.id, r.user_id, r.created_at, 'roundtable:' || r.chat_model, r.video_id, r.status,
       CASE WHEN r.status IN ('queued', 'running') THEN greatest(r.reserved_cost, m.spent) ELSE m.spent END,
       0,
       CASE WHEN r.status = 'completed' THEN extract(epoch FROM r.completed_at - r.created_at) END,
       CASE WHEN r.status = 'failed' THEN 'roundtable_failed' END,
       m.unknown
FROM roundtables r
CROSS JOIN LATERAL (SELECT coalesce(sum(cost), 0) AS spent, count(*) FILTER (WHERE cost IS NULL) AS unknown
                    FROM roundtable_messages WHERE roundtable_id = r.id) m;

CREATE OR REPLACE VIEW usage_items AS
SELECT s.kind, s.id, s.user_id, s.created_at, s.model, v.project_id, s.status, s.spend, s.possibly_billed,
       s.finish_seconds, s.failure_code, s.unknown_cost_calls
FROM spend_items s LEFT JOIN videos v ON v.id = s.video_id;

CREATE OR REPLACE FUNCTION budget_spend(p_user bigint, month_start timestamptz, month_end timestamptz) RETURNS numeric
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_user IS NULL
              THEN coalesce((SELECT sum(coalesce(g.actual_cost, g.estimated_cost)) FROM generations g
                             WHERE g.created_at >= month_start AND g.created_at < month_end), 0)
                 + coalesce((SELECT sum(i.spend) FROM spend_items i
                             WHERE i.kind = 'roundtable' AND i.created_at >= month_start AND i.created_at < month_end), 0)
              ELSE coalesce((SELECT sum(i.spend) FROM spend_items i
                             WHERE i.user_id = p_user AND i.created_at >= month_start AND i.created_at < month_end), 0)
         END
$$;
