// Package pgtest gets a Postgres server for tests and gives each test its own
// schema, so tests that need Postgres run in parallel against a real server.
//
// The server is, in order of preference:
//  1. the one at the URL in $AUDIT_TEST_DATABASE_URL (a test fails if it
//     cannot be reached);
//  2. the local server on 127.0.0.1:5432, as user postgres, database postgres
//     (trust or .pgpass authentication);
//  3. a throwaway cluster made with the installed initdb and pg_ctl (from
//     $PATH or /usr/lib/postgresql/*/bin) in a temporary directory, on a free
//     port, run as the user postgres (or nobody) when the tests run as root,
//     and stopped when the test binary ends.
//
// Otherwise the test fails with a message saying how to provide one. Setting
// AUDIT_TEST_POSTGRES=throwaway skips the first two, to test the third.
//
// A package using pgtest calls [Main] from its TestMain, which stops the
// throwaway cluster at the end.
package pgtest
