-- The model catalog: which video models exist, what each can do, and what it costs. It is data, not
-- code: operators change it with `promptreel models …` or plain SQL, without a rebuild. Prices are
-- per (model, resolution) because both orientations of a resolution cost the same.

CREATE TABLE video_models (
  name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$'),  -- the API's `model`
  display_name text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
  position     integer NOT NULL DEFAULT 100,   -- list order; the first enabled model is the default
  enabled      boolean NOT NULL DEFAULT true,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE video_model_durations (
  model   text NOT NULL REFERENCES video_models ON UPDATE CASCADE ON DELETE CASCADE,
  seconds integer NOT NULL CHECK (seconds BETWEEN 1 AND 600),
  PRIMARY KEY (model, seconds)
);

CREATE TABLE video_model_resolutions (
  model          text NOT NULL REFERENCES video_models ON UPDATE CASCADE ON DELETE CASCADE,
  resolution     text NOT NULL CHECK (resolution ~ '^[0-9]{3,4}p$'),
  usd_per_second numeric(10,4) NOT NULL CHECK (usd_per_second >= 0),
  PRIMARY KEY (model, resolution)
);

CREATE TABLE video_model_sizes (
  model        text NOT NULL,
  resolution   text NOT NULL,
  aspect_ratio text NOT NULL CHECK (aspect_ratio ~ '^[0-9]{1,2}:[0-9]{1,2}$'),
  size         text NOT NULL CHECK (size ~ '^[0-9]{2,5}x[0-9]{2,5}$'),   -- the API's `size`
  PRIMARY KEY (model, aspect_ratio, resolution),
  UNIQUE (model, size),
  FOREIGN KEY (model, resolution) REFERENCES video_model_resolutions ON UPDATE CASCADE ON DELETE CASCADE
);

-- Seeded from OpenAI's published prices (USD per second). sora-2-pro at 1080p is a third-party,
-- unconfirmed figure: change it with `promptreel models price` if your provider bills otherwise.
INSERT INTO video_models (name, display_name, position) VALUES
  ('sora-2', 'Sora 2', 10),
  ('sora-2-pro', 'Sora 2 Pro', 20);
INSERT INTO video_model_durations (model, seconds) VALUES
  ('sora-2', 4), ('sora-2', 8), ('sora-2', 12),
  ('sora-2-pro', 4), ('sora-2-pro', 8), ('sora-2-pro', 12);
INSERT INTO video_model_resolutions (model, resolution, usd_per_second) VALUES
  ('sora-2', '720p', 0.10),
  ('sora-2-pro', '720p', 0.30),
  ('sora-2-pro', '1024p', 0.50),
  ('sora-2-pro', '1080p', 0.70);
INSERT INTO video_model_sizes (model, resolution, aspect_ratio, size) VALUES
  ('sora-2', '720p', '16:9', '1280x720'),
  ('sora-2', '720p', '9:16', '720x1280'),
  ('sora-2-pro', '720p', '16:9', '1280x720'),
  ('sora-2-pro', '720p', '9:16', '720x1280'),
  ('sora-2-pro', '1024p', '16:9', '1792x1024'),
  ('sora-2-pro', '1024p', '9:16', '1024x1792'),
  ('sora-2-pro', '1080p', '16:9', '1920x1080'),
  ('sora-2-pro', '1080p', '9:16', '1080x1920');

-- The one price function every part of PromptReel uses: the estimate shown is the cost recorded.
-- Rounded to cents, so what is shown ($X.XX) is exactly what is stored. NULL when the model does not
-- offer that duration or resolution.
CREATE FUNCTION calculate_sora_generation_cost(duration integer, resolution text, model text)
RETURNS numeric LANGUAGE sql STABLE AS $$
  SELECT round(r.usd_per_second * $1, 2)
  FROM video_model_resolutions r
  JOIN video_model_durations d ON d.model = r.model AND d.seconds = $1
  WHERE r.model = $3 AND r.resolution = $2
$$;
