-- 0005 rollups: nothing on SQLite. The rollup tables are Postgres's
-- (store/postgres keeps them current); the analysis package reads a SQLite
-- store's events for every question. The version is kept in step with
-- Postgres's migrations.
SELECT 1;
