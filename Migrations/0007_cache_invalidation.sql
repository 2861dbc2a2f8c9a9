-- Every write that can change a cached answer announces itself on the channel `promptreel_cache`, so
-- each app process (on any host) drops what it cached: `video:<id>` when a video's generations change
-- state (a new generation, a status or phase change such as completion or adoption) or the video goes;
-- `auth` when a session, an API token or a user changes or goes; `all` when a project is renamed, moves
-- or goes. Triggers catch every writer: the app, workers, the command line and plain SQL. NOTIFY is
-- delivered at commit, never for a rollback.

CREATE FUNCTION promptreel_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'generations' THEN
    PERFORM pg_notify('promptreel_cache', 'video:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.video_id ELSE NEW.video_id END);
  ELSIF TG_TABLE_NAME = 'videos' THEN
    PERFORM pg_notify('promptreel_cache', 'video:' || OLD.id);
  ELSIF TG_TABLE_NAME = 'projects' THEN
    PERFORM pg_notify('promptreel_cache', 'all');
  ELSE
    PERFORM pg_notify('promptreel_cache', 'auth');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER generations_cache_insert_delete AFTER INSERT OR DELETE ON generations
  FOR EACH ROW EXECUTE FUNCTION promptreel_cache_notify();
-- A finished generation's answer is cached until this fires: any change to a finished row counts.
CREATE TRIGGER generations_cache_state AFTER UPDATE ON generations
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.phase IS DISTINCT FROM NEW.phase
                     OR OLD.video_id IS DISTINCT FROM NEW.video_id OR NEW.phase IN ('done', 'unconfirmed'))
  EXECUTE FUNCTION promptreel_cache_notify();
CREATE TRIGGER videos_cache AFTER DELETE OR UPDATE ON videos
  FOR EACH ROW EXECUTE FUNCTION promptreel_cache_notify();
CREATE TRIGGER users_cache AFTER DELETE OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION promptreel_cache_notify();
CREATE TRIGGER sessions_cache AFTER DELETE OR UPDATE ON sessions
  FOR EACH ROW EXECUTE FUNCTION promptreel_cache_notify();
CREATE TRIGGER api_tokens_cache AFTER DELETE OR UPDATE OF token_hash, user_id ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION promptreel_cache_notify();
CREATE TRIGGER projects_cache AFTER DELETE OR UPDATE OF name, user_id ON projects
  FOR EACH ROW EXECUTE FUNCTION promptreel_cache_notify();

-- TRUNCATE fires no row trigger: drop everything.
CREATE FUNCTION promptreel_cache_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('promptreel_cache', 'all');
  RETURN NULL;
END $$;
CREATE TRIGGER generations_cache_truncate AFTER TRUNCATE ON generations FOR EACH STATEMENT EXECUTE FUNCTION promptreel_cache_notify_all();
CREATE TRIGGER videos_cache_truncate AFTER TRUNCATE ON videos FOR EACH STATEMENT EXECUTE FUNCTION promptreel_cache_notify_all();
CREATE TRIGGER projects_cache_truncate AFTER TRUNCATE ON projects FOR EACH STATEMENT EXECUTE FUNCTION promptreel_cache_notify_all();
CREATE TRIGGER users_cache_truncate AFTER TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION promptreel_cache_notify_all();
CREATE TRIGGER sessions_cache_truncate AFTER TRUNCATE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION promptreel_cache_notify_all();
CREATE TRIGGER api_tokens_cache_truncate AFTER TRUNCATE ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION promptreel_cache_notify_all();
