-- Chat calls are billed per attempt. An attempt that reached the provider and brought back no answer
-- PromptReel could read (timed out, connection dropped, 500/502/504, unreadable) may have been billed all
-- the same, so it is kept here at its worst case — at most one token per byte of its messages (plus their
-- framing) and every completion token it allowed — and counts as spend and as possibly billed, as a lost
-- video create does. The attempt that finally answered is the roundtable_messages row, priced by its usage.
CREATE TABLE roundtable_unanswered_calls (
  id                 bigserial PRIMARY KEY,
  roundtable_id      bigint NOT NULL REFERENCES roundtables ON DELETE CASCADE,
  round              integer NOT NULL CHECK (round BETWEEN 1 AND 3),
  role               text NOT NULL,
  error_kind         text NOT NULL,
  http_status        integer,
  prompt_tokens      integer NOT NULL CHECK (prompt_tokens >= 0),
  completion_tokens  integer NOT NULL CHECK (completion_tokens >= 0),
  -- NULL when the model has no price: unknown, never $0.
  cost               numeric(14,6) CHECK (cost >= 0),
  started_at         timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX roundtable_unanswered_calls_roundtable ON roundtable_unanswered_calls (roundtable_id);

-- Every chat call of a roundtable that may cost money, answered or not: the one thing spend is summed over.
CREATE VIEW roundtable_calls AS
SELECT roundtable_id, cost, false AS possibly_billed FROM roundtable_messages
UNION ALL
SELECT roundtable_id, cost, true FROM roundtable_unanswered_calls;

-- spend_items (Migrations/0019) with the unanswered calls: in the spend, and their worst case as possibly billed.
-- A queued or running roundtable counts its reservation (or what its answers cost, if more) plus its unanswered
-- calls: those were not part of the run's worst case, and the roles they were for still have to be asked.
CREATE OR REPLACE VIEW spend_items AS
SELECT 'generation'::text AS kind, g.id, g.user_id, g.created_at, g.model, g.video_id, g.status,
       coalesce(g.actual_cost, g.estimated_cost)::numeric AS spend,
       CASE WHEN g.possibly_billed THEN coalesce(g.actual_cost, g.estimated_cost) ELSE 0 END::numeric AS possibly_billed,
       CASE WHEN g.status = 'completed' THEN extract(epoch FROM g.completed_at - g.created_at) END AS finish_seconds,
       CASE WHEN g.status = 'failed' THEN coalesce(g.error_code, 'unknown') END AS failure_code,
       0::bigint AS unknown_cost_calls
FROM generations g
UNION ALL
SELECT 'roundtable', r.id, r.user_id, r.created_at, 'roundtable:' || r.chat_model, r.video_id, r.status,
       CASE WHEN r.status IN ('queued', 'running') THEN greatest(r.reserved_cost, m.answered) + m.possibly_billed
            ELSE m.spent END,
       m.possibly_billed,
       CASE WHEN r.status = 'completed' THEN extract(epoch FROM r.completed_at - r.created_at) END,
       CASE WHEN r.status = 'failed' THEN 'roundtable_failed' END,
       m.unknown
FROM roundtables r
CROSS JOIN LATERAL (SELECT coalesce(sum(cost), 0) AS spent, count(*) FILTER (WHERE cost IS NULL) AS unknown,
                           coalesce(sum(cost) FILTER (WHERE NOT possibly_billed), 0) AS answered,
                           coalesce(sum(cost) FILTER (WHERE possibly_billed), 0) AS possibly_billed
                    FROM roundtable_calls WHERE roundtable_id = r.id) m;
