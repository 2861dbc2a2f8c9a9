-- Each user's storage quota for uploads (reference images), in bytes; NULL: the instance's default
-- (PROMPTREEL_STORAGE_QUOTA_BYTES, 5 GB). Set with `promptreel user quota --email E --bytes N`.
ALTER TABLE users ADD COLUMN storage_quota_bytes bigint CHECK (storage_quota_bytes >= 0);
