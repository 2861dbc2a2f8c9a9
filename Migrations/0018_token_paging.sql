-- The account page lists a user's tokens a page at a time, newest first by id (keyset): an index on
-- (user_id, id) answers each page without sorting; it covers everything the one on (user_id) did.
CREATE INDEX api_tokens_user_id_id ON api_tokens (user_id, id);
DROP INDEX api_tokens_user_id;
