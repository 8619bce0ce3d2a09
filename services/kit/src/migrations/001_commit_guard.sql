-- The commit-time guard (docs/fencing.md, "The deadline at COMMIT"). The app checks a request's
-- x-request-deadline right before it sends COMMIT, but a process frozen between that check and the
-- COMMIT reaching Postgres would still commit after the router gave up on the request and promoted
-- the other region. So the check is repeated inside Postgres, at commit time: withTransaction sets
-- `failover_lab.deadline_ms` (SET LOCAL, unix ms) and a deferred constraint trigger on every table
-- compares it with clock_timestamp() when the transaction commits. A transaction with no deadline
-- (migrations, promotion, background jobs) is not affected: the setting is absent or ''.
CREATE OR REPLACE FUNCTION failover_commit_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  deadline_ms text := current_setting('failover_lab.deadline_ms', true);
  now_ms numeric;
BEGIN
  IF deadline_ms IS NULL OR deadline_ms = '' THEN
    RETURN NULL;
  END IF;
  now_ms := extract(epoch FROM clock_timestamp()) * 1000;
  IF now_ms > deadline_ms::numeric THEN
    RAISE EXCEPTION 'request deadline passed % ms before COMMIT', round(now_ms - deadline_ms::numeric)
      USING ERRCODE = 'FL001';
  END IF;
  RETURN NULL;
END $$;

-- Attaches the guard to every table of the schema that lacks it; run after each migration set, so a
-- service's new table is guarded without a migration of its own. One row event per written row, all
-- checked at COMMIT (after the row's own work, so the last instant before the commit record).
CREATE OR REPLACE FUNCTION failover_attach_commit_guard() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  t record;
  attached integer := 0;
BEGIN
  FOR t IN
    SELECT c.oid, c.relname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT c.relispartition
       AND c.relname <> 'schema_migrations'
       AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'failover_commit_guard')
  LOOP
    EXECUTE format(
      'CREATE CONSTRAINT TRIGGER failover_commit_guard AFTER INSERT OR UPDATE OR DELETE ON %I '
      'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION failover_commit_guard()',
      t.relname);
    attached := attached + 1;
  END LOOP;
  RETURN attached;
END $$;
