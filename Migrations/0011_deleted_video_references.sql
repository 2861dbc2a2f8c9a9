-- Reference images (0010) meet deletion (0008): when a video goes, the generations that started from
-- its image stop pointing at files that are about to be removed (references/<video id>/), like their
-- video and thumbnails. What the frame was (sha256, size) stays on the record.

CREATE OR REPLACE FUNCTION keep_records_of_deleted_video() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE generations SET video_title = OLD.title, video_deleted_at = now(),
         video_path = NULL, thumbnail_path = NULL, spritesheet_path = NULL,
         reference_path = NULL, reference_fitted_path = NULL, reference_fit = NULL, reference_content_type = NULL
  WHERE video_id = OLD.id;
  UPDATE roundtables SET video_title = OLD.title WHERE video_id = OLD.id;
  RETURN OLD;
END $$;

ALTER TABLE generations
  DROP CONSTRAINT generations_deleted_video_check,
  ADD CONSTRAINT generations_deleted_video_check CHECK (
    video_id IS NOT NULL
    OR (phase = 'done' AND video_path IS NULL AND thumbnail_path IS NULL AND spritesheet_path IS NULL
        AND reference_path IS NULL AND reference_fitted_path IS NULL));
