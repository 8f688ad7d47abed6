package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/storetest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// newRole creates a role that cannot log in, with a name no other test
// uses, and drops it (and its grants) when the test ends.
func newRole(t *testing.T, prefix string) string {
	t.Helper()
	admin := pgtest.Admin(t)
	role := prefix + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	if _, err := admin.Exec("CREATE ROLE " + quote(role) + " NOLOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP OWNED BY " + quote(role) + "; DROP ROLE " + quote(role)); err != nil {
			t.Error(err)
		}
	})
	return role
}

// asRole returns dsn with the connection option that makes every session
// run as role (SET ROLE at connection start), understood by lib/pq and pgx.
func asRole(t *testing.T, dsn, role string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	// options splits at spaces unless backslash-escaped.
	q.Set("options", "-c role="+strings.NewReplacer(`\`, `\\`, " ", `\ `).Replace(role))
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + literally
	return u.String()
}

// TestWriterRole runs the conformance suite's write path through each
// driver as a role granted only INSERT and SELECT by Store.Grant: events,
// values, types, params, sessions, implicit sessions, users and the
// directory (PutUser, PutGroup, SetMembers, twice with changes, read back
// from the *_latest views) need nothing more.
func TestWriterRole(t *testing.T) {
	t.Parallel()
	role := newRole(t, "audit_writer_")
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			storetest.RunAppendOnly(t, func(t *testing.T) storetest.Store {
				dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
				owner := d.open(t, dsn, schema) // migrates
				if err := owner.Grant(t.Context(), role, postgres.AccessWriter); err != nil {
					t.Fatal(err)
				}
				return d.open(t, asRole(t, dsn, role), schema)
			})
		})
	}
}

// TestGrantPrivileges checks what each access allows: the writer inserts
// and reads but cannot update or delete; the reader only reads; an unknown
// role is an error, and a hostile role name is quoted.
func TestGrantPrivileges(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	owner := openPQ(t, dsn, schema)
	writer, reader := newRole(t, `audit w"; DROP TABLE x; `), newRole(t, "audit_reader_")
	for role, a := range map[string]postgres.Access{writer: postgres.AccessWriter, reader: postgres.AccessReader} {
		if err := owner.Grant(ctx, role, a); err != nil {
			t.Fatalf("Grant(%q, %s): %v", role, a, err)
		}
	}
	if err := owner.Grant(ctx, "no_such_role_"+uuid.NewString()[:8], postgres.AccessReader); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Grant to a missing role = %v, want an error saying it does not exist", err)
	}

	ws := openPQ(t, asRole(t, dsn, writer), schema)
	e := event(0, audit.P("k", "v"))
	e.SessionID, e.UserID = "s1", "alice"
	if err := ws.Write(ctx, []audit.Event{e}); err != nil {
		t.Fatalf("writer's Write: %v", err)
	}
	events := quote(schema) + ".events"
	for _, stmt := range []string{"UPDATE " + events + " SET comment = 'x'", "DELETE FROM " + events} {
		if _, err := ws.DB().ExecContext(ctx, stmt); !isInsufficientPrivilege(err) {
			t.Errorf("writer's %q: %v, want insufficient_privilege", stmt, err)
		}
	}

	rs := openPQ(t, asRole(t, dsn, reader), schema)
	got, err := rs.Read(ctx, audit.Query{})
	if err != nil || len(got.Events) != 1 || got.Events[0].ID != e.ID {
		t.Errorf("reader's Read = %v, %v; want the writer's event", got, err)
	}
	if err := rs.Write(ctx, []audit.Event{event(1)}); !audit.IsPermanent(err) || !isInsufficientPrivilege(err) {
		t.Errorf("reader's Write = %v, want a permanent insufficient_privilege error", err)
	}
}

func isInsufficientPrivilege(err error) bool {
	return err != nil && strings.Contains(err.Error(), "permission denied")
}

// TestPrivilegeRefusalIsIsolated logs through a role that may not insert
// sessions: the events with a session are refused at once, without retries,
// and every other event of the same batches is written.
func TestPrivilegeRefusalIsIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	owner := openPQ(t, dsn, schema)
	role := newRole(t, "audit_nosess_")
	if err := owner.Grant(ctx, role, postgres.AccessWriter); err != nil {
		t.Fatal(err)
	}
	if _, err := pgtest.Admin(t).Exec("REVOKE INSERT ON " + quote(schema) + ".users_sessions FROM " + quote(role)); err != nil {
		t.Fatal(err)
	}
	ws := openPQ(t, asRole(t, dsn, role), schema)

	var mu sync.Mutex
	var reports []error
	l, err := audit.New(audit.Options{
		Store:        ws,
		BatchSize:    512,
		RetryMin:     time.Millisecond,
		ErrorHandler: func(err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	const withSession, without = 10, 3000
	for i := range withSession + without {
		e := event(i, audit.P("i", fmt.Sprint(i)))
		if i < withSession {
			e.SessionID, e.UserID = "s"+fmt.Sprint(i), "alice"
		}
		if err := l.LogEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := l.Close(closeCtx); err != nil && !isInsufficientPrivilege(err) {
		t.Fatalf("Close: %v", err)
	}
	st := l.Stats()
	if st.Written != without || st.Failed != withSession || st.Retried != 0 {
		t.Errorf("Stats: written %d, failed %d, retried %d; want %d, %d, 0", st.Written, st.Failed, st.Retried, without, withSession)
	}
	var n int
	if err := owner.DB().GetContext(ctx, &n, "SELECT count(*) FROM "+quote(schema)+".events"); err != nil || n != without {
		t.Errorf("events stored = %d, %v; want %d", n, err, without)
	}
	// One report per batch with refusals, whose counts add up to the
	// refused events.
	mu.Lock()
	defer mu.Unlock()
	refused := 0
	many := regexp.MustCompile(`refused (\d+) events, the first`)
	for _, err := range reports {
		if !isInsufficientPrivilege(err) || errors.Is(err, audit.ErrUnavailable) {
			t.Errorf("reported %v, want only insufficient_privilege refusals", err)
		}
		if m := many.FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			refused += n
		} else if strings.Contains(err.Error(), "refused event") {
			refused++
		}
	}
	if refused != withSession {
		t.Errorf("reports %v count %d refused events, want %d", reports, refused, withSession)
	}
}

// TestWriterRoleChain writes a chained trail through each driver as the
// writer role, which cannot change or delete the chain's records, and
// verifies it as the reader role; a table created after Grant is granted
// too.
func TestWriterRoleChain(t *testing.T) {
	t.Parallel()
	writer, reader := newRole(t, "audit_writer_"), newRole(t, "audit_reader_")
	for _, pgx := range []bool{false, true} {
		t.Run(fmt.Sprint("pgx=", pgx), func(t *testing.T) {
			ctx := t.Context()
			dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
			owner := openPQ(t, dsn, schema)
			if err := owner.Grant(ctx, writer, postgres.AccessWriter); err != nil {
				t.Fatal(err)
			}
			if err := owner.Grant(ctx, reader, postgres.AccessReader); err != nil {
				t.Fatal(err)
			}
			w, err := chain.NewWriter(chain.Options{})
			if err != nil {
				t.Fatal(err)
			}
			opts := postgres.Options{Schema: schema, NoMigrate: true, Chain: w}
			var ws *postgres.Store
			if pgx {
				pool, err := pgxpool.New(ctx, asRole(t, dsn, writer))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(pool.Close)
				ws, err = postgres.NewPool(pool, opts)
				if err != nil {
					t.Fatal(err)
				}
			} else if ws, err = postgres.Open(ctx, asRole(t, dsn, writer), opts); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ws.Close(context.Background()) })
			for i := range 3 {
				e := event(i, audit.P("k", "v"))
				e.SessionID = "s1"
				if err := ws.Write(ctx, []audit.Event{e}); err != nil {
					t.Fatalf("writer's Write: %v", err)
				}
			}
			digests := quote(schema) + ".chain_digests"
			for _, stmt := range []string{"UPDATE " + digests + " SET seq = 9", "DELETE FROM " + digests} {
				if _, err := ws.DB().ExecContext(ctx, stmt); !isInsufficientPrivilege(err) {
					t.Errorf("writer's %q: %v, want insufficient_privilege", stmt, err)
				}
			}
			// A table the owner creates later (a migration's, a partition)
			// gets the grants too.
			later := quote(schema) + ".later"
			if _, err := owner.DB().ExecContext(ctx, "CREATE TABLE "+later+" (x int)"); err != nil {
				t.Fatal(err)
			}
			if _, err := ws.DB().ExecContext(ctx, "INSERT INTO "+later+" VALUES (1)"); err != nil {
				t.Errorf("writer's INSERT into a later table: %v", err)
			}
			rs := openPQ(t, asRole(t, dsn, reader), schema)
			r, err := chain.Verify(ctx, rs, chain.VerifyOptions{})
			if err != nil || !r.OK() || r.Records != 3 || r.Events != 3 {
				t.Errorf("reader's Verify = %+v, %v; want OK, 3 records, 3 events", r, err)
			}
		})
	}
}

// TestWriterRoleSettings keeps the settings history (settings/pgsettings)
// as the roles of Grant, on a schema where no settings were stored before:
// the writer opens the source, stores versions, reverts and reads the
// history, but cannot change or delete a version; the reader reads the
// history and cannot store one.
func TestWriterRoleSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	owner := openPQ(t, dsn, schema)
	writer, reader := newRole(t, "audit_writer_"), newRole(t, "audit_reader_")
	for role, a := range map[string]postgres.Access{writer: postgres.AccessWriter, reader: postgres.AccessReader} {
		if err := owner.Grant(ctx, role, a); err != nil {
			t.Fatal(err)
		}
	}
	open := func(role string) *pgsettings.Source {
		e, err := settings.New(settings.Config{}, settings.Options{})
		if err != nil {
			t.Fatal(err)
		}
		src, err := pgsettings.Open(ctx, asRole(t, dsn, role), e, pgsettings.Options{Schema: schema})
		if err != nil {
			t.Fatalf("pgsettings.Open as %s: %v", role, err)
		}
		t.Cleanup(func() {
			src.Close(context.Background())
			e.Close(context.Background())
		})
		return src
	}
	ws := open(writer)
	p := settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeUser, ID: "bob", Preset: settings.PresetVerbose}}}
	for _, pol := range []settings.Config{p, {}} {
		if _, err := ws.Set(ctx, pol, "alice", "as the writer"); err != nil {
			t.Fatalf("writer's Set: %v", err)
		}
	}
	v, err := ws.Revert(ctx, 1, "alice")
	if err != nil || v.Version != 3 || v.RevertOf != 1 || len(v.Config.Rules) != 1 {
		t.Fatalf("writer's Revert = %+v, %v", v, err)
	}
	if vs, err := ws.History(ctx, 0); err != nil || len(vs) != 3 {
		t.Errorf("writer's History: %d versions, %v; want 3", len(vs), err)
	}
	versions := quote(schema) + "." + pgsettings.Table
	wdb, err := sql.Open("postgres", asRole(t, dsn, writer))
	if err != nil {
		t.Fatal(err)
	}
	defer wdb.Close()
	for _, stmt := range []string{"UPDATE " + versions + " SET comment = 'x'", "DELETE FROM " + versions} {
		if _, err := wdb.ExecContext(ctx, stmt); !isInsufficientPrivilege(err) {
			t.Errorf("writer's %q: %v, want insufficient_privilege", stmt, err)
		}
	}

	rs := open(reader)
	if vs, err := rs.History(ctx, 0); err != nil || len(vs) != 3 || vs[0].Version != 3 {
		t.Errorf("reader's History: %d versions, %v; want 3", len(vs), err)
	}
	if _, err := rs.Set(ctx, p, "mallory", "as the reader"); !isInsufficientPrivilege(err) {
		t.Errorf("reader's Set = %v, want insufficient_privilege", err)
	}
}
