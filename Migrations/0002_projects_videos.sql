-- Projects belong to a user; saved videos belong to a project (and so, through it, to the user).

CREATE TABLE projects (
  id          bigserial PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 10000),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_user_id ON projects (user_id, id);

CREATE TABLE videos (
  id           bigserial PRIMARY KEY,
  project_id   bigint NOT NULL REFERENCES projects ON DELETE CASCADE,
  title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
  brief        text NOT NULL DEFAULT '' CHECK (char_length(brief) <= 10000),
  final_prompt text NOT NULL DEFAULT '' CHECK (char_length(final_prompt) <= 32000),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX videos_project_id ON videos (project_id, id);
