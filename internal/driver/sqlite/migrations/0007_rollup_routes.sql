-- 0007 rollup of HTTP routes: nothing on SQLite, which keeps no rollups
-- (see 0005). The version is kept in step with Postgres's migrations.
SELECT 1;
