-- The account preference "Refresh pages automatically": whether pages that follow a running job (a
-- generation's progress, its takes, a running roundtable, pending webhook deliveries) refresh themselves
-- with a meta refresh. WCAG 2.2.1 asks that a user can turn a timed refresh off. The sessions cache carries
-- it: changing it is an UPDATE on users, whose 0007 trigger drops every process's cached sessions.
ALTER TABLE users ADD COLUMN refresh_pages boolean NOT NULL DEFAULT true;
