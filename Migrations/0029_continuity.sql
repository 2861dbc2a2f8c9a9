-- Continuity: a storyboard click may start each shot from the last frame of the shot before. Such a
-- generation waits (next_attempt_at = infinity, so no submit claim takes it) until the generation it
-- follows has completed; a worker then takes that video's last frame, fits it to this generation's size,
-- records it as its reference image and makes it due. When the one it follows fails, it is cancelled
-- before sending (nothing sent, $0), and so in turn are the shots after it.
ALTER TABLE storyboard_clicks ADD COLUMN continuity boolean NOT NULL DEFAULT false;
ALTER TABLE generations
  ADD COLUMN chain_previous_id bigint REFERENCES generations ON DELETE SET NULL,
  -- The storyboard place of the shot it follows, when the click was made ("the last frame of shot 3").
  ADD COLUMN chain_from_shot integer,
  -- False while it waits for the frame of the one it follows.
  ADD COLUMN chain_ready boolean NOT NULL DEFAULT true,
  -- When a worker could not take that frame for a reason of its own (no ffmpeg, a full disk): try again then.
  ADD COLUMN chain_retry_at timestamptz;
CREATE INDEX generations_chain_waiting ON generations (chain_previous_id) WHERE NOT chain_ready;
