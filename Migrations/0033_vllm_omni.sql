-- The vLLM-Omni dialect (a self-hosted server such as Wan 2.2 on the team's GPU box): its create takes
-- width/height/num_frames/fps and optional generation parameters; its jobs report the GPU time they took.
ALTER TABLE providers DROP CONSTRAINT providers_dialect_check;
ALTER TABLE providers ADD CONSTRAINT providers_dialect_check CHECK (dialect IN ('openai', 'vllm-omni'));

-- A model's frame rate (sent as `fps`, with num_frames = seconds × fps; NULL: the provider's own) and the
-- generation parameters it takes (the settings page and the API offer only these).
ALTER TABLE video_models
  ADD COLUMN fps integer CHECK (fps BETWEEN 1 AND 120),
  ADD COLUMN parameters text[] NOT NULL DEFAULT '{}'
    CHECK (parameters <@ ARRAY['seed', 'negative_prompt', 'num_inference_steps', 'guidance_scale']::text[]);

-- What a job reported as its GPU time (`inference_time_s`), range-checked by the engine; and how many
-- retrieves in a row answered 5xx (a gateway that turns a failed job into a persistent 500 must not be
-- polled until the timeout; a normal answer resets it).
ALTER TABLE generations
  ADD COLUMN gpu_seconds numeric(12,3) CHECK (gpu_seconds >= 0),
  ADD COLUMN poll_errors integer NOT NULL DEFAULT 0 CHECK (poll_errors >= 0);
