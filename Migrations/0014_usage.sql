-- Usage analytics (issue 12, part 3). Every paid piece of work is one row of `usage_items`: a
-- generation (one take) or a roundtable run, with the spend exactly as budgets count it (0013): a
-- generation at coalesce(actual_cost, estimated_cost) — reserved while queued or in flight, settled when
-- completed, 0 when failed unbilled, the estimate when possibly billed — and a roundtable at its
-- worst-case reservation while queued or running, then at the sum of its messages. Each counts on the
-- UTC day of its click (created_at). budget_spend is redefined over the same rows, so the usage page and
-- the budget check can never disagree.

CREATE VIEW usage_items AS
SELECT 'generation'::text AS kind, g.id, g.user_id, g.created_at, g.model, v.project_id, g.status,
       coalesce(g.actual_cost, g.estimated_cost)::numeric AS spend,
       CASE WHEN g.possibly_billed THEN coalesce(g.actual_cost, g.estimated_cost) ELSE 0 END::numeric AS possibly_billed,
       CASE WHEN g.status = 'completed' THEN extract(epoch FROM g.completed_at - g.created_at) END AS finish_seconds,
       CASE WHEN g.status = 'failed' THEN coalesce(g.error_code, 'unknown') END AS failure_code
FROM generations g LEFT JOIN videos v ON v.id = g.video_id
UNION ALL
SELECT 'roundtable', r.id, r.user_id, r.created_at, 'roundtable:' || r.chat_model, v.project_id, r.status,
       CASE WHEN r.status IN ('queued', 'running') THEN greatest(r.reserved_cost, m.spent) ELSE m.spent END,
       0,
       CASE WHEN r.status = 'completed' THEN extract(epoch FROM r.completed_at - r.created_at) END,
       CASE WHEN r.status = 'failed' THEN 'roundtable_failed' END
FROM roundtables r LEFT JOIN videos v ON v.id = r.video_id
CROSS JOIN LATERAL (SELECT coalesce(sum(cost), 0) AS spent FROM roundtable_messages WHERE roundtable_id = r.id) m;

-- The same sums as 0013's, now read from usage_items (the joins it does not need are removed by the
-- planner). One user's month is its own subquery, so even the function's generic plan finds it through
-- (user_id, created_at); the instance's (p_user NULL) is only evaluated when asked for.
CREATE OR REPLACE FUNCTION budget_spend(p_user bigint, month_start timestamptz, month_end timestamptz) RETURNS numeric
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_user IS NULL
              THEN coalesce((SELECT sum(i.spend) FROM usage_items i WHERE i.created_at >= month_start AND i.created_at < month_end), 0)
              ELSE coalesce((SELECT sum(i.spend) FROM usage_items i
                             WHERE i.user_id = p_user AND i.created_at >= month_start AND i.created_at < month_end), 0)
         END
$$;
