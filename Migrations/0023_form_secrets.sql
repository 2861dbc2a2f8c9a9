-- The server secrets CSRF tokens are keyed with (HMAC-SHA256), shared by every host. The first is made at
-- the first start (`promptreel serve`); `promptreel secrets rotate` retires the current one, which is still
-- accepted for an hour, so forms already on screen keep working.
CREATE TABLE form_secrets (
    id bigserial PRIMARY KEY,
    secret text NOT NULL CHECK (length(secret) >= 43),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
-- At most one current secret, so two hosts starting at once make one between them.
CREATE UNIQUE INDEX form_secrets_one_current ON form_secrets ((retired_at IS NULL)) WHERE retired_at IS NULL;
