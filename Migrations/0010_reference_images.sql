-- Image-to-video: what each model can do with a reference image, the video's current reference
-- image, and the original and fitted frame each generation started from.

ALTER TABLE video_models
  ADD COLUMN accepts_image  boolean NOT NULL DEFAULT true,
  ADD COLUMN requires_image boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT video_models_requires_accepts CHECK (NOT requires_image OR accepts_image);

-- The video's current reference image: the original bytes live under PROMPTREEL_MEDIA_DIR at `path`
-- (content-addressed: references/<video id>/<sha256>.<ext>).
CREATE TABLE video_reference_images (
  video_id     bigint PRIMARY KEY REFERENCES videos ON DELETE CASCADE,
  path         text NOT NULL,
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
  width        integer NOT NULL CHECK (width BETWEEN 1 AND 16384),
  height       integer NOT NULL CHECK (height BETWEEN 1 AND 16384),
  bytes        bigint NOT NULL CHECK (bytes > 0),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Set once when the generation is recorded, never changed: the frame it started from.
ALTER TABLE generations
  ADD COLUMN reference_path         text,
  ADD COLUMN reference_content_type text,
  ADD COLUMN reference_width        integer,
  ADD COLUMN reference_height       integer,
  ADD COLUMN reference_sha256       text,
  ADD COLUMN reference_fit          text CHECK (reference_fit IN ('crop', 'letterbox')),
  ADD COLUMN reference_fitted_path  text,
  ADD CONSTRAINT generations_reference_complete CHECK (
    (reference_path IS NULL) = (reference_fitted_path IS NULL)
    AND (reference_path IS NULL) = (reference_fit IS NULL)
    AND (reference_path IS NULL) = (reference_content_type IS NULL));
