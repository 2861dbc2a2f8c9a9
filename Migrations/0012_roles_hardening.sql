-- Roles, disabled accounts, and throttles that cannot be turned against someone else's account.
-- A change of role or of disabled_at is an UPDATE on users: the 0007 trigger drops every process's
-- cached sessions and tokens.

ALTER TABLE users
  ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
  ADD COLUMN disabled_at timestamptz;

-- An instance that already has users gets its first one as admin.
UPDATE users SET role = 'admin' WHERE id = (SELECT min(id) FROM users);

-- Failed log-ins are counted per (account, address) and per address, never per account alone.
DROP INDEX login_failures_email;
CREATE INDEX login_failures_email_address ON login_failures (lower(email), address, at);

-- Accounts created by sign-up, by client address, for the per-address hourly limit.
CREATE TABLE signups (
  id      bigserial PRIMARY KEY,
  address text NOT NULL,
  at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signups_address ON signups (address, at);
