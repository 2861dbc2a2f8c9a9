-- A click under an instance-wide cap sums this month's spend of every user while it holds the cap's row
-- (Budgets.reserve); /metrics reads the same sum. Measured at 1 M generations (scripts/bench usage): about
-- 160–210 ms through usage_items (its join to videos makes every generation row of the month a heap
-- fetch), so clicks queued behind each other at ~5 a second. The generations of the month are now summed
-- from a covering index alone; the sum is usage_items' own `spend` of a generation,
-- coalesce(actual_cost, estimated_cost), and the e2e usage test checks both sums agree.

CREATE INDEX generations_created_costs ON generations (created_at) INCLUDE (actual_cost, estimated_cost);

CREATE OR REPLACE FUNCTION budget_spend(p_user bigint, month_start timestamptz, month_end timestamptz) RETURNS numeric
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_user IS NULL
              THEN coalesce((SELECT sum(coalesce(g.actual_cost, g.estimated_cost)) FROM generations g
                             WHERE g.created_at >= month_start AND g.created_at < month_end), 0)
                 + coalesce((SELECT sum(i.spend) FROM usage_items i
                             WHERE i.kind = 'roundtable' AND i.created_at >= month_start AND i.created_at < month_end), 0)
              ELSE coalesce((SELECT sum(i.spend) FROM usage_items i
                             WHERE i.user_id = p_user AND i.created_at >= month_start AND i.created_at < month_end), 0)
         END
$$;
