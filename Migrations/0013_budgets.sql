-- Budgets: per user a monthly limit (USD, NULL = none) and one instance-wide monthly cap.
--
-- Spend needs no ledger: a click's generations carry their own reservation. A generation counts at
-- coalesce(actual_cost, estimated_cost): reserved at the estimate while queued or in flight, settled to
-- the actual cost when completed, released to 0 when it failed unbilled, kept at the estimate when
-- possibly billed (the engine's state changes already set actual_cost that way). A roundtable counts at
-- its worst-case estimate (reserved_cost) while queued or running, then at the sum of its messages.
-- The month is the month of the click (created_at), in UTC.
--
-- Check-and-reserve is atomic: the click's transaction locks the user's row, then the instance row
-- (always in that order), sums the month, and inserts the click before the locks are released.

CREATE TABLE user_budgets (
  user_id        bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
  monthly_limit  numeric(12,2) CHECK (monthly_limit >= 0),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instance_budget (
  id             boolean PRIMARY KEY DEFAULT true CHECK (id),
  monthly_limit  numeric(12,2) CHECK (monthly_limit >= 0),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO instance_budget DEFAULT VALUES;

ALTER TABLE roundtables ADD COLUMN reserved_cost numeric(14,6) NOT NULL DEFAULT 0 CHECK (reserved_cost >= 0);

CREATE INDEX generations_created ON generations (created_at);
CREATE INDEX roundtables_user_created ON roundtables (user_id, created_at);
CREATE INDEX roundtables_created ON roundtables (created_at);

-- [start, end) of the UTC calendar month holding `at`.
CREATE FUNCTION budget_month(at timestamptz, OUT month_start timestamptz, OUT month_end timestamptz)
LANGUAGE sql IMMUTABLE AS $$
  SELECT date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
         (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
$$;

-- What counts against a budget for the clicks made in [month_start, month_end): one user's, or
-- everyone's when p_user is NULL.
CREATE FUNCTION budget_spend(p_user bigint, month_start timestamptz, month_end timestamptz) RETURNS numeric
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT sum(coalesce(g.actual_cost, g.estimated_cost)) FROM generations g
                   WHERE (p_user IS NULL OR g.user_id = p_user)
                     AND g.created_at >= month_start AND g.created_at < month_end), 0)
       + coalesce((SELECT sum(CASE WHEN r.status IN ('queued', 'running') THEN greatest(r.reserved_cost, m.spent) ELSE m.spent END)
                   FROM roundtables r
                   CROSS JOIN LATERAL (SELECT coalesce(sum(cost), 0) AS spent FROM roundtable_messages WHERE roundtable_id = r.id) m
                   WHERE (p_user IS NULL OR r.user_id = p_user)
                     AND r.created_at >= month_start AND r.created_at < month_end), 0)
$$;
