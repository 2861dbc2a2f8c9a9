-- Providers are catalog data: each model belongs to one provider (a base URL, a dialect, the name of the
-- environment variable that holds its key — never the key itself —, optional organisation/project headers,
-- a timeout). The built-in `default` provider follows OPENAI_BASE_URL / OPENAI_API_KEY at every start of
-- `serve` and `worker`; existing models belong to it. A generation records the provider it was sent to and
-- the model name that provider serves (which may differ from the catalog's).
CREATE TABLE providers (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
  base_url      text NOT NULL CHECK (base_url ~ '^https?://[^[:space:]]+$' AND length(base_url) <= 2000),
  -- How it speaks the Videos API. `vllm-omni` comes with its dialect.
  dialect       text NOT NULL DEFAULT 'openai' CHECK (dialect IN ('openai')),
  api_key_env   text NOT NULL CHECK (api_key_env ~ '^[A-Z_][A-Z0-9_]{0,99}$'),
  organization  text CHECK (length(organization) <= 200),
  project       text CHECK (length(project) <= 200),
  timeout_ms    integer NOT NULL DEFAULT 30000 CHECK (timeout_ms BETWEEN 100 AND 600000),
  -- Disabled: no new creates (its models leave the catalog); jobs in flight keep polling and downloading.
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO providers (name, base_url, api_key_env) VALUES ('default', 'https://api.openai.com/v1', 'OPENAI_API_KEY');

ALTER TABLE video_models
  ADD COLUMN provider text NOT NULL DEFAULT 'default' REFERENCES providers ON UPDATE CASCADE,
  -- The `model` the provider serves, when it differs from the catalog's name (NULL: the same).
  ADD COLUMN provider_model text CHECK (provider_model ~ '^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$');

-- Recorded at the click; no foreign key: the money record outlives a provider's row.
ALTER TABLE generations
  ADD COLUMN provider text NOT NULL DEFAULT 'default',
  ADD COLUMN provider_model text;
