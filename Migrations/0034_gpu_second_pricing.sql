-- Self-hosted models may be priced per GPU-second instead of per second of video. The user confirms, and the
-- budget reserves, a ceiling: the operator's most GPU-seconds per second of video at that resolution × the rate,
-- kept in usd_per_second (rounded up), so calculate_sora_generation_cost() — the one price function — gives the
-- ceiling unchanged. The recorded cost is then the measured GPU time × the rate, never more than the ceiling.
ALTER TABLE video_model_resolutions
  ADD COLUMN usd_per_gpu_second numeric(12,6) CHECK (usd_per_gpu_second >= 0),
  ADD COLUMN max_gpu_seconds_per_second numeric(10,3) CHECK (max_gpu_seconds_per_second > 0),
  ADD CONSTRAINT video_model_resolutions_gpu_pricing CHECK ((usd_per_gpu_second IS NULL) = (max_gpu_seconds_per_second IS NULL));

-- The rate a generation was confirmed at (NULL: priced per second of video); its cost settles on completion.
ALTER TABLE generations ADD COLUMN usd_per_gpu_second numeric(12,6) CHECK (usd_per_gpu_second >= 0);

-- What a finished generation costs: per second of video, its estimate; per GPU-second, the measured GPU time ×
-- the rate rounded up to the cent (GPU time used is never $0), at most the confirmed ceiling — or the ceiling when
-- the provider reported none.
CREATE FUNCTION settled_generation_cost(estimated numeric, gpu_seconds numeric, rate numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN $3 IS NULL OR $2 IS NULL THEN $1 ELSE least($1, ceil($2 * $3 * 100) / 100) END
$$;

-- Usage shows the GPU time beside the spend: the same views as 0019/0022, one column more at the end.
CREATE OR REPLACE VIEW spend_items AS
SELECT 'generation'::text AS kind, g.id, g.user_id, g.created_at, g.model, g.video_id, g.status,
       coalesce(g.actual_cost, g.estimated_cost)::numeric AS spend,
       CASE WHEN g.possibly_billed THEN coalesce(g.actual_cost, g.estimated_cost) ELSE 0 END::numeric AS possibly_billed,
       CASE WHEN g.status = 'completed' THEN extract(epoch FROM g.completed_at - g.created_at) END AS finish_seconds,
       CASE WHEN g.status = 'failed' THEN coalesce(g.error_code, 'unknown') END AS failure_code,
       0::bigint AS unknown_cost_calls,
       g.gpu_seconds
FROM generations g
UNION ALL
SELECT 'roundtable', r.id, r.user_id, r.created_at, 'roundtable:' || r.chat_model, r.video_id, r.status,
       CASE WHEN r.status IN ('queued', 'running') THEN greatest(r.reserved_cost, m.answered) + m.possibly_billed
            ELSE m.spent END,
       m.possibly_billed,
       CASE WHEN r.status = 'completed' THEN extract(epoch FROM r.completed_at - r.created_at) END,
       CASE WHEN r.status = 'failed' THEN 'roundtable_failed' END,
       m.unknown,
       NULL::numeric
FROM roundtables r
CROSS JOIN LATERAL (SELECT coalesce(sum(cost), 0) AS spent, count(*) FILTER (WHERE cost IS NULL) AS unknown,
                           coalesce(sum(cost) FILTER (WHERE NOT possibly_billed), 0) AS answered,
                           coalesce(sum(cost) FILTER (WHERE possibly_billed), 0) AS possibly_billed
                    FROM roundtable_calls WHERE roundtable_id = r.id) m;

CREATE OR REPLACE VIEW usage_items AS
SELECT s.kind, s.id, s.user_id, s.created_at, s.model, v.project_id, s.status, s.spend, s.possibly_billed,
       s.finish_seconds, s.failure_code, s.unknown_cost_calls, s.gpu_seconds
FROM spend_items s LEFT JOIN videos v ON v.id = s.video_id;
