-- Mail through an SMTP relay (PROMPTREEL_SMTP_URL): "Forgot password" and invitations. Request threads
-- write the outbox; a worker thread sends it. A row says what to mail, never its text: the sender writes the
-- mail as it sends it, so a reset link (a secret) is made at that moment and kept only as its hash.
CREATE TABLE mail_outbox (
  id              bigserial PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('password_reset', 'invitation')),
  recipient       text NOT NULL,
  user_id         bigint REFERENCES users(id) ON DELETE CASCADE,
  invitation_id   bigint REFERENCES project_invitations(id) ON DELETE CASCADE,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- Past this a pending mail is not sent (a reset request's hour; an invitation's own expiry).
  expires_at      timestamptz NOT NULL,
  last_error      text,
  -- The last SMTP reply code (4xx: tried again; 5xx: failed).
  last_code       integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  CHECK ((kind = 'password_reset') = (user_id IS NOT NULL)),
  CHECK ((kind = 'invitation') = (invitation_id IS NOT NULL))
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_user ON mail_outbox (user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX mail_outbox_invitation ON mail_outbox (invitation_id, created_at) WHERE invitation_id IS NOT NULL;
CREATE INDEX mail_outbox_created ON mail_outbox (created_at);

CREATE FUNCTION wake_mail_sender() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('promptreel_mail', '');
    RETURN NULL;
END $$;
CREATE TRIGGER mail_outbox_wake AFTER INSERT ON mail_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION wake_mail_sender();

-- Sign-ups and password-reset requests are both counted per client address per hour: one table.
ALTER TABLE signups RENAME TO address_attempts;
ALTER TABLE address_attempts ADD COLUMN action text NOT NULL DEFAULT 'signup'
  CHECK (action IN ('signup', 'password_reset'));
ALTER TABLE address_attempts ALTER COLUMN action DROP DEFAULT;
DROP INDEX signups_address;
CREATE INDEX address_attempts_action ON address_attempts (action, address, at);
