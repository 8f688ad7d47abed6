package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Environment variables read by the package.
const (
	// EnvURL names the variable holding the URL of the server to use.
	EnvURL = "AUDIT_TEST_DATABASE_URL"
	// EnvMode names the variable that, set to "throwaway", makes the tests
	// use a throwaway cluster even when a server is configured or running.
	EnvMode = "AUDIT_TEST_POSTGRES"
)

// LocalURL is the local server tried when EnvURL is not set.
const LocalURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=5"

var (
	mu      sync.Mutex
	inMain  bool
	done    bool
	dsn     string
	failure error
	cluster *Cluster
	admin   *sqlx.DB
)

// Main runs the tests of a package, stops the throwaway cluster if one was
// started, then runs the given checks (such as goleak.Find) when the tests
// passed, and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M, checks ...func() error) {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	errs := []error{shutdown()}
	if code == 0 {
		for _, check := range checks {
			errs = append(errs, check())
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func shutdown() error {
	mu.Lock()
	defer mu.Unlock()
	var errs []error
	if admin != nil {
		errs = append(errs, admin.Close())
		admin = nil
	}
	if cluster != nil {
		errs = append(errs, cluster.Stop())
		cluster = nil
	}
	return errors.Join(errs...)
}

// DSN returns the URL of the test server, finding it on first use (see the
// package doc). It fails the test when there is none.
func DSN(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !done {
		dsn, failure = resolve()
		done = true
	}
	if failure != nil {
		t.Fatal(failure)
	}
	return dsn
}

func resolve() (string, error) {
	var tried []string
	if os.Getenv(EnvMode) != "throwaway" {
		if url := os.Getenv(EnvURL); url != "" {
			if err := ping(url); err != nil {
				return "", fmt.Errorf("pgtest: $%s is set but the server cannot be reached: %w", EnvURL, err)
			}
			return url, nil
		}
		tried = append(tried, "$"+EnvURL+" is not set")
		err := ping(LocalURL)
		if err == nil {
			return LocalURL, nil
		}
		tried = append(tried, fmt.Sprintf("no local server at %s (%v)", LocalURL, err))
	}
	if !inMain {
		return "", errors.New("pgtest: a throwaway cluster is needed but the package's TestMain does not call pgtest.Main, which stops it")
	}
	c, err := StartCluster()
	if err == nil {
		cluster = c
		return c.DSN(), nil
	}
	tried = append(tried, "no throwaway cluster: "+err.Error())
	return "", fmt.Errorf("pgtest: no Postgres server for the tests. Either set %s=postgres://user@host:port/db?sslmode=disable, "+
		"or run a server on 127.0.0.1:5432 that lets the user postgres in, or install PostgreSQL (initdb and pg_ctl, e.g. apt-get install postgresql) "+
		"so the tests can start their own.\nTried:\n  %s", EnvURL, strings.Join(tried, "\n  "))
}

func ping(url string) error {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Schema creates a new, empty schema for the test on the test server and
// drops it, with everything in it, when the test ends. It returns the schema
// name, which may need quoting.
func Schema(t testing.TB) string {
	t.Helper()
	db := Admin(t)
	name, err := createSchema(db, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dropSchema(db, name); err != nil {
			t.Error(err)
		}
	})
	return name
}

// ExampleSchema is [DSN] and [Schema] for Example functions, which have no
// testing.TB: it returns the server's URL, a new schema and a function that
// drops it, and panics when there is no server.
func ExampleSchema() (dsn, schema string, drop func()) {
	t := &panicTB{}
	dsn = DSN(t)
	db := Admin(t)
	schema, err := createSchema(db, "example")
	if err != nil {
		panic(err)
	}
	return dsn, schema, func() {
		if err := dropSchema(db, schema); err != nil {
			panic(err)
		}
	}
}

// panicTB is a testing.TB whose failures panic.
type panicTB struct{ testing.TB }

func (*panicTB) Helper()                   {}
func (*panicTB) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (*panicTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func createSchema(db *sqlx.DB, testName string) (string, error) {
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + sanitize(testName) + "_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE SCHEMA " + pq.QuoteIdentifier(name)); err != nil {
		return "", fmt.Errorf("pgtest: create schema: %w", err)
	}
	return name, nil
}

func dropSchema(db *sqlx.DB, name string) error {
	if _, err := db.Exec("DROP SCHEMA IF EXISTS " + pq.QuoteIdentifier(name) + " CASCADE"); err != nil {
		return fmt.Errorf("pgtest: drop schema %s: %w", name, err)
	}
	return nil
}

// Admin returns a connection pool to the test server shared by the tests of
// the package. Do not close it.
func Admin(t testing.TB) *sqlx.DB {
	t.Helper()
	url := DSN(t)
	mu.Lock()
	defer mu.Unlock()
	if admin == nil {
		db, err := sqlx.Open("postgres", url)
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		admin = db
	}
	return admin
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
