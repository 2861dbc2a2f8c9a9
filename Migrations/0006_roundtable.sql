-- The roundtable: AI roles turn a video's brief into a proposed final prompt, which the user reviews.
-- Roles, presets and chat prices are data; every message is kept with its tokens and cost; every
-- change of a final prompt is kept as a version.

-- Chat model prices, USD per million tokens (input and output apart), like video prices.
CREATE TABLE chat_models (
  name                    text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
  usd_per_million_input   numeric(12,6) NOT NULL CHECK (usd_per_million_input >= 0),
  usd_per_million_output  numeric(12,6) NOT NULL CHECK (usd_per_million_output >= 0)
);
INSERT INTO chat_models VALUES ('gpt-4.1-mini', 0.40, 1.60);

-- The cost of one call to the micro-dollar (never rounded to cents: a call costs a fraction of one).
-- NULL when the model has no price.
CREATE FUNCTION chat_call_cost(prompt_tokens integer, completion_tokens integer, model text) RETURNS numeric
LANGUAGE sql STABLE AS $$
  SELECT round((prompt_tokens * usd_per_million_input + completion_tokens * usd_per_million_output) / 1000000, 6)
  FROM chat_models WHERE name = model
$$;

CREATE TABLE roundtable_roles (
  name          text PRIMARY KEY CHECK (name ~ '^[A-Z][A-Za-z0-9 -]{0,39}$' AND name <> 'Moderator'),
  position      integer NOT NULL DEFAULT 100,
  instructions  text NOT NULL CHECK (length(instructions) BETWEEN 1 AND 4000)
);
INSERT INTO roundtable_roles (name, position, instructions) VALUES
  ('Director', 10, 'You own the story: the subject, the action, and the one shot that matters. Say what the viewer must see and feel, and what to leave out.'),
  ('Cinematographer', 20, 'You own the image: camera position, lens, movement, light, time of day, palette and texture. Be concrete (35 mm, slow dolly-in, golden hour).'),
  ('Editor', 30, 'You own time: what fits in the chosen duration and aspect ratio, pacing, and continuity. Cut what cannot be shown in that many seconds.'),
  ('Feasibility', 40, 'You know what video models do badly: legible text, hands, crowds, fast cuts, exact brand marks, many shots in one clip; and content policy risks (real people, minors, violence). Flag each risk and propose a safer wording.');

CREATE TABLE roundtable_presets (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,39}$'),
  display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  position      integer NOT NULL DEFAULT 100,
  instructions  text NOT NULL CHECK (length(instructions) BETWEEN 1 AND 4000)
);
INSERT INTO roundtable_presets (name, display_name, position, instructions) VALUES
  ('cinematic', 'Cinematic', 10, 'Style: cinematic. Film-like framing, shallow depth of field, motivated light, a deliberate camera move, a graded palette.'),
  ('product-demo', 'Product demo', 20, 'Style: product demo. The product is the hero: clean background, clear view of its key feature in use, even light, no clutter.'),
  ('documentary', 'Documentary', 30, 'Style: documentary. Natural light, handheld or locked-off observational camera, real textures, nothing staged-looking.'),
  ('social-vertical', 'Social vertical', 40, 'Style: social video for phones. Vertical framing, a hook in the first second, bold simple subject, fast but readable motion.'),
  ('animation', 'Animation', 50, 'Style: animation. A consistent stylised look (say which: 3D, claymation, 2D cel), expressive motion, simple shapes.');

ALTER TABLE videos ADD COLUMN preset text REFERENCES roundtable_presets ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE roundtables (
  id                     bigserial PRIMARY KEY,
  video_id               bigint NOT NULL REFERENCES videos ON DELETE CASCADE,
  user_id                bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  status                 text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  -- Snapshots: what the roles were given, so a run reads the same whatever changes meanwhile.
  brief                  text NOT NULL,
  current_prompt         text NOT NULL,
  settings               jsonb NOT NULL,
  preset                 text,
  preset_instructions    text,
  roles                  jsonb NOT NULL,          -- [{"name", "instructions"}] in order
  feedback               text,
  previous_roundtable_id bigint REFERENCES roundtables ON DELETE SET NULL,
  previous_proposal      text,
  chat_model             text NOT NULL,
  proposal               text,
  rationale              text,
  error_message          text,
  attempts               integer NOT NULL DEFAULT 0,
  next_attempt_at        timestamptz NOT NULL DEFAULT now(),
  created_at             timestamptz NOT NULL DEFAULT now(),
  started_at             timestamptz,
  completed_at           timestamptz,
  accepted_at            timestamptz,
  CHECK ((status = 'completed') = (proposal IS NOT NULL))
);
CREATE INDEX roundtables_video ON roundtables (video_id, id DESC);
CREATE INDEX roundtables_work ON roundtables (next_attempt_at) WHERE status IN ('queued', 'running');

-- Round 1: notes; round 2: answers to the others; round 3: the Moderator.
CREATE TABLE roundtable_messages (
  id                 bigserial PRIMARY KEY,
  roundtable_id      bigint NOT NULL REFERENCES roundtables ON DELETE CASCADE,
  round              integer NOT NULL CHECK (round BETWEEN 1 AND 3),
  position           integer NOT NULL,
  role               text NOT NULL,
  content            text NOT NULL,
  finish_reason      text,
  -- NULL when the provider sent no usage: "unknown", never $0.
  prompt_tokens      integer CHECK (prompt_tokens >= 0),
  completion_tokens  integer CHECK (completion_tokens >= 0),
  cost               numeric(14,6) CHECK (cost >= 0),
  started_at         timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (roundtable_id, round, role)
);
CREATE INDEX roundtable_messages_month ON roundtable_messages (created_at);

-- Every final prompt a video has had, newest last: written, accepted from a roundtable, or edited.
CREATE TABLE video_prompt_versions (
  id             bigserial PRIMARY KEY,
  video_id       bigint NOT NULL REFERENCES videos ON DELETE CASCADE,
  user_id        bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  prompt         text NOT NULL,
  source         text NOT NULL CHECK (source IN ('written', 'roundtable', 'edited')),
  roundtable_id  bigint REFERENCES roundtables ON DELETE SET NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX video_prompt_versions_video ON video_prompt_versions (video_id, id DESC);
INSERT INTO video_prompt_versions (video_id, user_id, prompt, source, created_at)
SELECT v.id, p.user_id, v.final_prompt, 'written', v.created_at
FROM videos v JOIN projects p ON p.id = v.project_id WHERE v.final_prompt <> '';
