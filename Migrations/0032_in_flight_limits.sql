-- In-flight limits at three levels: the instance (PROMPTREEL_MAX_IN_FLIGHT), a provider (a GPU box that makes
-- one video at a time), a model. NULL: no limit of its own. Enforced where a worker claims a create, under
-- the one submit lock, so they hold across every process.
ALTER TABLE providers ADD COLUMN max_in_flight integer CHECK (max_in_flight BETWEEN 1 AND 100000);
ALTER TABLE video_models ADD COLUMN max_in_flight integer CHECK (max_in_flight BETWEEN 1 AND 100000);
