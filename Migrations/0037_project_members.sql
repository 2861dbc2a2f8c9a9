-- Shared projects (issue 26, part 2): a project's members with a role, and invitations by email.
-- What a user may do with a project is their row here. `projects.user_id` (copied onto its videos, 0019) becomes
-- the project's holder: its creator, until they stop being an owner, when another owner takes it (the trigger
-- below), so it always names an owner and lists of "the projects a user holds" keep using the video indexes.

CREATE TABLE project_members (
  project_id bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
  added_at   timestamptz NOT NULL DEFAULT now(),
  added_by   bigint REFERENCES users ON DELETE SET NULL,
  PRIMARY KEY (project_id, user_id)
);
-- "Your projects" and "Shared with you" walk a user's memberships.
CREATE INDEX project_members_user ON project_members (user_id, project_id);

-- Every existing project: its creator is its owner.
INSERT INTO project_members (project_id, user_id, role) SELECT id, user_id, 'owner' FROM projects;

-- A new project's creator is its owner, whoever inserts it (the app, the command line, plain SQL).
CREATE FUNCTION promptreel_project_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO project_members (project_id, user_id, role, added_by) VALUES (NEW.id, NEW.user_id, 'owner', NEW.user_id);
  RETURN NULL;
END $$;
CREATE TRIGGER projects_owner AFTER INSERT ON projects FOR EACH ROW EXECUTE FUNCTION promptreel_project_owner();

-- A membership that changes or goes changes what cached answers may be shown to whom: every process drops
-- everything (as for a project that moves).
CREATE FUNCTION promptreel_members_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('promptreel_cache', 'all');
  RETURN NULL;
END $$;
CREATE TRIGGER project_members_cache AFTER UPDATE OR DELETE ON project_members
  FOR EACH ROW EXECUTE FUNCTION promptreel_members_notify();

-- The holder stops being an owner (demoted, removed, or their account deleted): the longest-standing other owner
-- holds the project. With no owner left the change is refused by the application (and undone), or the project
-- itself is being deleted.
CREATE FUNCTION promptreel_project_holder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.role = 'owner' THEN RETURN NULL; END IF;
  UPDATE projects p SET user_id = o.user_id
  FROM (SELECT user_id FROM project_members
        WHERE project_id = OLD.project_id AND role = 'owner' AND user_id <> OLD.user_id
        ORDER BY added_at, user_id LIMIT 1) o
  WHERE p.id = OLD.project_id AND p.user_id = OLD.user_id;
  RETURN NULL;
END $$;
CREATE TRIGGER project_members_holder AFTER UPDATE OF role OR DELETE ON project_members
  FOR EACH ROW EXECUTE FUNCTION promptreel_project_holder();

-- Invitations: by email, whether or not an account has it (the answer is the same either way); the invitee,
-- signed in with that email now or after signing up, accepts or declines. 14 days, then expired.
CREATE TABLE project_invitations (
  id          bigserial PRIMARY KEY,
  project_id  bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
  email       text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
  role        text NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
  invited_by  bigint REFERENCES users ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL DEFAULT now() + interval '14 days',
  answered_at timestamptz,
  answer      text CHECK (answer IN ('accepted', 'declined', 'revoked'))
);
-- One pending invitation per (project, address): inviting again updates its role and expiry.
CREATE UNIQUE INDEX project_invitations_pending ON project_invitations (project_id, lower(email)) WHERE answered_at IS NULL;
CREATE INDEX project_invitations_email ON project_invitations (lower(email)) WHERE answered_at IS NULL;
