-- "Generate shots": one click starts a batch per chosen shot of a project, in one transaction, at one
-- confirmed total. The click is a row of its own parenting those batches. Its id is drawn from the
-- batches' sequence, so `/api/batches/{id}` names either kind of click without ambiguity.
CREATE TABLE storyboard_clicks (
  id          bigint PRIMARY KEY DEFAULT nextval('generation_batches_id_seq'),
  -- NULL once the project is deleted: like its batches, the click is part of the money record.
  project_id  bigint REFERENCES projects ON DELETE SET NULL,
  user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  -- The settings every shot was generated with (the catalog's names), and takes per shot.
  settings    jsonb NOT NULL,
  takes       integer NOT NULL CHECK (takes BETWEEN 1 AND 4),
  shots       integer NOT NULL CHECK (shots >= 1),
  total_cost  numeric(12,2) NOT NULL CHECK (total_cost >= 0),   -- the sum of its generations' estimates, as confirmed
  -- The chosen shots that started nothing, and why: [{"videoId", "reason"}].
  skipped     jsonb NOT NULL DEFAULT '[]',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX storyboard_clicks_project ON storyboard_clicks (project_id, id DESC);
CREATE INDEX storyboard_clicks_user ON storyboard_clicks (user_id, id DESC);

ALTER TABLE generation_batches
  ADD COLUMN storyboard_click_id bigint REFERENCES storyboard_clicks ON DELETE SET NULL;
CREATE INDEX generation_batches_storyboard_click ON generation_batches (storyboard_click_id)
  WHERE storyboard_click_id IS NOT NULL;
