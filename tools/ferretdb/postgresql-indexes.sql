-- Equality lookups that use an index on the test store's PostgreSQL backend.
--
-- FerretDB 1.24 pushes a top-level equality filter ({ _id: 'x' }, { sagaType: 'a', ... }) down to
-- PostgreSQL as `_jsonb -> 'field' @> '"x"'`, and creates each MongoDB index as a btree on
-- `(_jsonb -> 'field')`. A btree cannot answer `@>`, so every find by `_id` scanned the whole table,
-- detoasting each document: the store slowed down in proportion to the documents it held (40 ms a
-- lookup with 5,000 saga instances), where MongoDB answers from its `_id` index.
--
-- This gives every such btree index a GIN twin over the same expressions (jsonb_path_ops answers
-- `@>`): an event trigger adds one for every index FerretDB creates, and this script adds them once
-- for the indexes that exist already. `plan_cache_mode = force_custom_plan` (set on the database by
-- scripts/test-store.sh) lets the planner see the field name, which FerretDB passes as a statement
-- parameter, so it can match the index expression. Run by scripts/test-store.sh on the store's
-- database at every start; idempotent. With `-v twins=off` it removes the trigger and the twins
-- instead (LONGHAUL_STORE_PG_INDEXES=off: to measure the store without them).

\if :twins

CREATE OR REPLACE FUNCTION longhaul_gin_twin(btree regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  ix pg_index;
  expressions text[] := '{}';
  expression text;
  twin text;
BEGIN
  SELECT * INTO ix FROM pg_index WHERE indexrelid = btree;
  IF NOT FOUND OR (SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid WHERE c.oid = btree) <> 'btree' THEN
    RETURN;
  END IF;
  FOR k IN 1 .. ix.indnatts LOOP
    expression := pg_get_indexdef(btree, k, true);
    -- Only FerretDB's own shape: every key a top-level field of the _jsonb column.
    IF expression !~ '^\(_jsonb -> ''[^'']*''::text\)$' THEN
      RETURN;
    END IF;
    expressions := expressions || (expression || ' jsonb_path_ops');
  END LOOP;
  -- Unique per btree index, within PostgreSQL's 63 characters: a prefix of its name and a hash.
  SELECT left(relname, 46) || '_' || left(md5(relname), 8) || '_lh_gin' INTO twin FROM pg_class WHERE oid = btree;
  EXECUTE format(
    'CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s) WITH (fastupdate = off)',
    twin, ix.indrelid::regclass, array_to_string(expressions, ', '));
END $$;

CREATE OR REPLACE FUNCTION longhaul_gin_twins_on_create() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  created record;
BEGIN
  FOR created IN
    SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' AND object_type = 'index'
  LOOP
    PERFORM longhaul_gin_twin(created.objid::regclass);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS longhaul_gin_twins;
CREATE EVENT TRIGGER longhaul_gin_twins ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION longhaul_gin_twins_on_create();

DO $$
DECLARE
  existing record;
BEGIN
  FOR existing IN
    SELECT i.indexrelid FROM pg_index i
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND n.nspname NOT LIKE 'pg\_%'
  LOOP
    PERFORM longhaul_gin_twin(existing.indexrelid::regclass);
  END LOOP;
END $$;

\else

DROP EVENT TRIGGER IF EXISTS longhaul_gin_twins;

DO $$
DECLARE
  twin record;
BEGIN
  FOR twin IN SELECT schemaname, indexname FROM pg_indexes WHERE indexname LIKE '%\_lh\_gin' LOOP
    EXECUTE format('DROP INDEX %I.%I', twin.schemaname, twin.indexname);
  END LOOP;
END $$;

\endif
