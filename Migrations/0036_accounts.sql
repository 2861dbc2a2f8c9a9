-- Accounts (issue 26, part 1): sessions that end when idle and that their user can list and end, API tokens
-- with a scope, one-time password-reset links, deleted accounts.

-- A session is seen again at most once a minute (`last_seen_at`, from the address it came from); one unseen for
-- PROMPTREEL_SESSION_IDLE_DAYS ends, whatever its absolute expiry. The id names it on the account page (its
-- token never leaves the cookie).
ALTER TABLE sessions
  ADD COLUMN id bigserial UNIQUE,
  ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN address text NOT NULL DEFAULT '';
-- Seeing a session again is no reason for every process to drop its cached sessions: only a change of what
-- the session is (its token, user or expiry) or its end is.
DROP TRIGGER sessions_cache ON sessions;
CREATE TRIGGER sessions_cache AFTER DELETE OR UPDATE OF token_hash, user_id, expires_at ON sessions
  FOR EACH ROW EXECUTE FUNCTION promptreel_cache_notify();
-- ... or its last-seen time moved back (by an operator, or a test making a session idle).
CREATE TRIGGER sessions_cache_rewound AFTER UPDATE OF last_seen_at ON sessions
  FOR EACH ROW WHEN (NEW.last_seen_at < OLD.last_seen_at) EXECUTE FUNCTION promptreel_cache_notify();

-- `read` tokens are refused on every write (403 read_only_token); tokens made before scopes are `full`.
ALTER TABLE api_tokens ADD COLUMN scope text NOT NULL DEFAULT 'full' CHECK (scope IN ('read', 'full'));

-- A one-time link that sets a new password: stored hashed, valid for an hour, used at most once (the use is an
-- UPDATE ... WHERE used_at IS NULL, so two clicks cannot both pass). A newer link replaces the older unused ones.
CREATE TABLE password_resets (
  id          bigserial PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE,
  created_by  bigint REFERENCES users ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- A deleted account keeps its row, so the money its generations record stays someone's: the email is
-- replaced (freeing the address for a new account), the password can match nothing, the row is disabled,
-- and pages and usage show "deleted user".
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
