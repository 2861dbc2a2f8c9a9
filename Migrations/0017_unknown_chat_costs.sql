-- Chat calls whose provider reported no usage have no cost (NULL): they add nothing to spend, and the
-- usage page says how many there were instead of letting them pass as $0. A new last column of the view.
CREATE OR REPLACE VIEW usage_items AS
SELECT 'generation'::text AS kind, g.id, g.user_id, g.created_at, g.model, v.project_id, g.status,
       coalesce(g.actual_cost, g.estimated_cost)::numeric AS spend,
       CASE WHEN g.possibly_billed THEN coalesce(g.actual_cost, g.estimated_cost) ELSE 0 END::numeric AS possibly_billed,
       CASE WHEN g.status = 'completed' THEN extract(epoch FROM g.completed_at - g.created_at) END AS finish_seconds,
       CASE WHEN g.status = 'failed' THEN coalesce(g.error_code, 'unknown') END AS failure_code,
       0::bigint AS unknown_cost_calls
FROM generations g LEFT JOIN videos v ON v.id = g.video_id
UNION ALL
SELECT 'roundtable', r.id, r.user_id, r.created_at, 'roundtable:' || r.chat_model, v.project_id, r.status,
       CASE WHEN r.status IN ('queued', 'running') THEN greatest(r.reserved_cost, m.spent) ELSE m.spent END,
       0,
       CASE WHEN r.status = 'completed' THEN extract(epoch FROM r.completed_at - r.created_at) END,
       CASE WHEN r.status = 'failed' THEN 'roundtable_failed' END,
       m.unknown
FROM roundtables r LEFT JOIN videos v ON v.id = r.video_id
CROSS JOIN LATERAL (SELECT coalesce(sum(cost), 0) AS spent, count(*) FILTER (WHERE cost IS NULL) AS unknown
                    FROM roundtable_messages WHERE roundtable_id = r.id) m;
