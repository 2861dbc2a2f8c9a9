-- What each user's uploads keep on disk, for their storage quota: one row per (user, file content). A row
-- stays while the user's videos or generations name the bytes, and for an hour after (the file is only
-- swept an hour after nothing names it), so replacing images cannot outrun the quota. The sweep deletes the
-- rows it no longer needs. Filled here from today's reference images.
CREATE TABLE reference_uploads (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sha256      text NOT NULL,
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, sha256)
);
INSERT INTO reference_uploads (user_id, sha256, bytes)
SELECT DISTINCT ON (p.user_id, r.sha256) p.user_id, r.sha256, r.bytes
FROM video_reference_images r JOIN videos v ON v.id = r.video_id JOIN projects p ON p.id = v.project_id
ON CONFLICT DO NOTHING;
CREATE INDEX generations_reference_sha256 ON generations (reference_sha256) WHERE reference_path IS NOT NULL;
