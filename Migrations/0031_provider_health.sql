-- The breaker per provider: one row each (a provider added later gets its own), so one provider failing
-- pauses only its models' new creates.
ALTER TABLE provider_health ADD COLUMN provider text NOT NULL DEFAULT 'default'
  REFERENCES providers ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE provider_health DROP CONSTRAINT provider_health_pkey;
ALTER TABLE provider_health DROP COLUMN id;
ALTER TABLE provider_health ALTER COLUMN provider DROP DEFAULT;
ALTER TABLE provider_health ADD PRIMARY KEY (provider);
INSERT INTO provider_health (provider) SELECT name FROM providers ON CONFLICT DO NOTHING;

CREATE FUNCTION providers_health_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO provider_health (provider) VALUES (NEW.name) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER providers_health_row AFTER INSERT ON providers
  FOR EACH ROW EXECUTE FUNCTION providers_health_row();
