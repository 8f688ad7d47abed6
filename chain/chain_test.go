package chain_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, func() error { return goleak.Find() })
}

// backend is a store of one database, opened with a chain writer, and a
// way to change its tables behind the store's back.
type backend struct {
	name  string
	open  func(t *testing.T, w *chain.Writer) store
	exec  func(t *testing.T, query string, args ...any) // {table} names
	idArg func(uuid.UUID) any
}

type store interface {
	audit.Store
	RecordExpiry(context.Context, map[audit.Level]time.Time) error
	Close(context.Context) error
}

func backends(t *testing.T) []backend {
	var bs []backend

	dsn := pgtest.DSN(t)
	pgdb, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pgdb.Close() })
	// lib/pq, and a pgx pool (verify reads binary rows), each on a schema
	// of its own.
	for _, pg := range []struct {
		name string
		open func(tb testing.TB, dsn string, opts postgres.Options) *postgres.Store
	}{{"postgres", openPQ}, {"postgres-pgx", openPgx}} {
		schema := pgtest.Schema(t)
		bs = append(bs, backend{
			name: pg.name,
			open: func(t *testing.T, w *chain.Writer) store {
				s := pg.open(t, dsn, postgres.Options{Schema: schema, Chain: w})
				t.Cleanup(func() { s.Close(context.Background()) })
				return s
			},
			exec: func(t *testing.T, query string, args ...any) {
				q := strings.NewReplacer("{", pq.QuoteIdentifier(schema)+`."`, "}", `"`).Replace(query)
				if _, err := pgdb.ExecContext(t.Context(), sqlx.Rebind(sqlx.DOLLAR, q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			},
			idArg: func(u uuid.UUID) any { return u.String() },
		})
	}

	path := filepath.Join(t.TempDir(), "audit.db")
	bs = append(bs, backend{
		name: "sqlite",
		open: func(t *testing.T, w *chain.Writer) store {
			s, err := sqlite.Open(t.Context(), path, sqlite.Options{Chain: w})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close(context.Background()) })
			return s
		},
		exec: func(t *testing.T, query string, args ...any) {
			db, err := sqlx.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			q := strings.NewReplacer("{", `"`, "}", `"`).Replace(query)
			if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		idArg: func(u uuid.UUID) any { return u[:] },
	})
	return bs
}

// openPQ opens a store through lib/pq.
func openPQ(tb testing.TB, dsn string, opts postgres.Options) *postgres.Store {
	s, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// openPgx opens a store on a pgx pool, closed at the end of tb (after the
// store, which its caller closes in a cleanup of its own).
func openPgx(tb testing.TB, dsn string, opts postgres.Options) *postgres.Store {
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	s, err := postgres.NewPool(pool, opts)
	if err == nil {
		err = s.Migrate(context.Background())
	}
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var base = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// events returns n events from the i-th on, a second apart, with params.
func events(i, n int) []audit.Event {
	out := make([]audit.Event, n)
	for j := range out {
		k := i + j
		out[j] = audit.Event{
			ID:   uuid.Must(uuid.NewV7()),
			Time: base.Add(time.Duration(k) * time.Second), Level: audit.LevelAudit, Type: "doc-edit",
			Message: fmt.Sprintf("edit %d", k), UserID: "alice", SessionID: "s-1",
			Params: []audit.Param{audit.String("doc", fmt.Sprintf("d-%d", k)), audit.Int("n", k)},
		}
	}
	return out
}

func newWriter(t *testing.T, opts chain.Options) *chain.Writer {
	t.Helper()
	w, err := chain.NewWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func write(t *testing.T, s audit.Store, batches ...[]audit.Event) {
	t.Helper()
	for _, b := range batches {
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, s store, opts chain.VerifyOptions) *chain.Report {
	t.Helper()
	r, err := chain.Verify(t.Context(), s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantProblem checks that the report has exactly one problem of the kind
// for the event (uuid.Nil: any) and seq (0: any), among its problems.
func wantProblem(t *testing.T, r *chain.Report, kind chain.Kind, event uuid.UUID, seq int64) {
	t.Helper()
	for _, p := range r.Problems {
		if p.Kind == kind && (event == uuid.Nil || p.Event == event) && (seq == 0 || p.Seq == seq) {
			return
		}
	}
	t.Errorf("no %s problem for event %s seq %d in %v", kind, event, seq, r.Problems)
}

func TestClean(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, newWriter(t, chain.Options{}))
			// Every kind of column: an error with a stack, a duration,
			// text that is not valid UTF-8, an object reference, no message.
			rich := events(16, 3)
			rich[0].Level, rich[0].StackTrace, rich[0].Fingerprint = audit.LevelError, "main.f()\n\tf.go:1", "fp-1"
			rich[0].Duration, rich[0].Message = 3*time.Millisecond, "bad \xff\x00 text"
			rich[1].Params = append(rich[1].Params, audit.P("q", audit.Ref("query", uuid.NewString())), audit.P("k\xfe", "v\x00"))
			rich[2].Message, rich[2].UserID, rich[2].SessionID = "", "", ""
			first := events(0, 10)
			first[0].Message = "" // the first row read: an empty text is not NULL
			write(t, s, first, events(10, 5), events(15, 1), rich)
			r := verify(t, s, chain.VerifyOptions{})
			if !r.OK() || r.Records != 4 || r.Events != 19 || r.Writers != 1 || r.Started != 1 {
				t.Errorf("report %+v, want OK, 4 records, 19 events, 1 writer, 1 started", r)
			}
			// Since checks the links whole, and the events of later records.
			r = verify(t, s, chain.VerifyOptions{Since: time.Now().Add(time.Hour)})
			if !r.OK() || r.Records != 4 || r.Events != 0 {
				t.Errorf("since later: %+v, want OK, 4 records, 0 events", r)
			}
		})
	}
}

func TestTamper(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			cps := filepath.Join(t.TempDir(), "checkpoints.jsonl")
			w := newWriter(t, chain.Options{CheckpointEvery: 2, CheckpointFile: cps, Key: chain.Key{HMAC: []byte("k")}})
			s := b.open(t, w)
			batches := [][]audit.Event{events(0, 4), events(4, 4), events(8, 4), events(12, 4), events(16, 4), events(20, 4)}
			write(t, s, batches...)
			if r := verify(t, s, chain.VerifyOptions{Key: chain.Key{HMAC: []byte("k")}}); !r.OK() || r.Signed != 6 {
				t.Fatalf("before tampering: %+v", r)
			}
			if r := verify(t, s, chain.VerifyOptions{Key: chain.Key{HMAC: []byte("other")}}); r.OK() {
				t.Error("a wrong key passes")
			} else {
				wantProblem(t, r, chain.KindBadSignature, uuid.Nil, 1)
			}

			// A param value changed.
			mod := batches[0][1].ID
			b.exec(t, "UPDATE {event_parameter_values} SET value = 'd-forged' WHERE event_id = ? AND value = 'd-1'", b.idArg(mod))
			// An event deleted.
			del := batches[1][2].ID
			b.exec(t, "DELETE FROM {events} WHERE id = ?", b.idArg(del))
			// A message changed.
			msg := batches[2][0].ID
			b.exec(t, "UPDATE {events} SET description = 'nothing happened' WHERE id = ?", b.idArg(msg))
			// An event inserted around the writer: a store with no chain.
			forged := events(100, 1)
			plain := b.open(t, nil)
			write(t, plain, forged)

			cp, err := chain.ReadCheckpoints(cps)
			if err != nil || len(cp) != 1 || cp[0].Seq != 6 {
				t.Fatalf("checkpoints %+v, %v; want seq 6", cp, err)
			}
			// The tail cut: the last two batches and their records deleted.
			b.exec(t, "DELETE FROM {events} WHERE digest_id IN (SELECT id FROM {chain_digests} WHERE seq > 4)")
			b.exec(t, "DELETE FROM {chain_digests} WHERE seq > 4")
			// Records 2 and 3 swapped.
			b.exec(t, "UPDATE {chain_digests} SET seq = -1 WHERE seq = 2")
			b.exec(t, "UPDATE {chain_digests} SET seq = 2 WHERE seq = 3")
			b.exec(t, "UPDATE {chain_digests} SET seq = 3 WHERE seq = -1")

			r := verify(t, s, chain.VerifyOptions{Checkpoints: cp})
			for _, p := range r.Problems {
				t.Log(p)
			}
			wantProblem(t, r, chain.KindModified, mod, 1)
			wantProblem(t, r, chain.KindDeleted, del, 0) // its record is swapped: seq 3 now
			wantProblem(t, r, chain.KindModified, msg, 0)
			wantProblem(t, r, chain.KindInserted, forged[0].ID, 0)
			wantProblem(t, r, chain.KindTruncated, uuid.Nil, 6)
			wantProblem(t, r, chain.KindLinkBroken, uuid.Nil, 2)
			wantProblem(t, r, chain.KindRecordAltered, uuid.Nil, 3)
			if r.OK() || len(r.Problems) > 12 {
				t.Errorf("%d problems", len(r.Problems))
			}
		})
	}
}

func TestEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	key, err := chain.ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil || !priv.Equal(key.Ed25519) {
		t.Fatalf("ParseKey of the private key: %v", err)
	}
	if _, err := chain.ParseKey(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err == nil {
		t.Error("ParseKey takes a PEM that is no key")
	}
	b := backends(t)[1]
	s := b.open(t, newWriter(t, chain.Options{Key: key}))
	write(t, s, events(0, 3), events(3, 3))
	if r := verify(t, s, chain.VerifyOptions{Key: chain.Key{Ed25519Public: pub}}); !r.OK() || r.Signed != 2 {
		t.Errorf("right key: %+v", r)
	}
	r := verify(t, s, chain.VerifyOptions{Key: chain.Key{Ed25519Public: otherPub}})
	wantProblem(t, r, chain.KindBadSignature, uuid.Nil, 2)
}

// A batch retried after its events were stored (all of them, or some) gets
// a record of exactly the events it inserted.
func TestRetriedBatch(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, newWriter(t, chain.Options{}))
			first := events(0, 6)
			mixed := append(append([]audit.Event{}, first[2:5]...), events(6, 4)...)
			write(t, s, first, first, mixed, mixed[:5])
			r := verify(t, s, chain.VerifyOptions{})
			if !r.OK() || r.Records != 2 || r.Events != 10 {
				t.Errorf("report %+v, want OK, 2 records, 10 events", r)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, newWriter(t, chain.Options{}))
			debug := events(0, 4)
			for i := range debug {
				debug[i].Level = audit.LevelDebug
			}
			all := events(10, 4)
			write(t, s, debug, append(debug[:0:0], all...))
			cut := base.Add(2 * time.Second) // debug 0 and 1 expire
			if err := s.RecordExpiry(t.Context(), map[audit.Level]time.Time{audit.LevelDebug: cut}); err != nil {
				t.Fatal(err)
			}
			b.exec(t, "DELETE FROM {events} WHERE level = 'debug' AND id IN (?, ?)", b.idArg(debug[0].ID), b.idArg(debug[1].ID))
			r := verify(t, s, chain.VerifyOptions{})
			if !r.OK() || r.Expired != 2 || r.Records != 3 {
				t.Errorf("report %+v, want OK, 2 expired, 3 records", r)
			}
			// An event the cutoff does not cover is deleted, not expired.
			b.exec(t, "DELETE FROM {events} WHERE id = ?", b.idArg(debug[3].ID))
			b.exec(t, "DELETE FROM {events} WHERE id = ?", b.idArg(all[0].ID))
			r = verify(t, s, chain.VerifyOptions{})
			wantProblem(t, r, chain.KindDeleted, debug[3].ID, 1)
			wantProblem(t, r, chain.KindDeleted, all[0].ID, 2)
			if len(r.Problems) != 2 {
				t.Errorf("problems %v, want 2", r.Problems)
			}
		})
	}
}

// TestRetentionRecordsExpiry runs the stores' retention on a chained
// database: a store without the chain's writer is refused (its deletes
// would read as tampering), one with it records the expiry first, so that
// verify counts the removed events as expired and finds nothing wrong.
func TestRetentionRecordsExpiry(t *testing.T) {
	type retainer interface {
		Retain(ctx context.Context, dry bool) (audit.RetentionReport, error)
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, newWriter(t, chain.Options{}))
			debug := events(0, 4)
			for i := range debug {
				debug[i].Level = audit.LevelDebug
			}
			write(t, s, debug, events(10, 4))
			cutoffs := audit.DefaultRetention().Cutoffs(time.Now())
			want := 0
			for _, e := range append(debug, events(10, 4)...) {
				if e.Time.Before(cutoffs[e.Level]) {
					want++
				}
			}
			s.Close(t.Context())

			plain := b.open(t, nil)
			if _, err := plain.(retainer).Retain(t.Context(), false); !errors.Is(err, audit.ErrInvalidOptions) {
				t.Errorf("retention without the chain's writer: %v, want ErrInvalidOptions", err)
			}
			plain.Close(t.Context())

			s = b.open(t, newWriter(t, chain.Options{}))
			if _, err := s.(retainer).Retain(t.Context(), false); err != nil {
				t.Fatal(err)
			}
			r := verify(t, s, chain.VerifyOptions{})
			if !r.OK() || r.Expired != want || want == 0 {
				t.Errorf("after retention: report %+v, want OK with %d expired (> 0)", r, want)
			}
		})
	}
}

// TestFewConnections verifies through pools that cannot give each stream a
// connection of its own: lib/pq limited to one connection (both streams
// page cursors in the reader's transaction) and a pgx pool of two (one
// stream has its own connection, the other falls back to a cursor after
// waiting for one). A changed value is still found.
func TestFewConnections(t *testing.T) {
	dsn := pgtest.DSN(t)
	for _, c := range []struct {
		name string
		open func(tb testing.TB, schema string, w *chain.Writer) *postgres.Store
	}{
		{"pq-1", func(tb testing.TB, schema string, w *chain.Writer) *postgres.Store {
			s := openPQ(tb, dsn, postgres.Options{Schema: schema, Chain: w})
			s.DB().SetMaxOpenConns(1)
			return s
		}},
		{"pgx-2", func(tb testing.TB, schema string, w *chain.Writer) *postgres.Store {
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			if !strings.Contains(dsn, "://") {
				sep = " "
			}
			return openPgx(tb, dsn+sep+"pool_max_conns=2", postgres.Options{Schema: schema, Chain: w})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			schema := pgtest.Schema(t)
			s := c.open(t, schema, newWriter(t, chain.Options{}))
			defer s.Close(context.Background())
			batch := events(0, 4)
			write(t, s, batch, events(4, 4))
			if r := verify(t, s, chain.VerifyOptions{}); !r.OK() || r.Events != 8 {
				t.Fatalf("before tampering: %+v", r)
			}
			q := "UPDATE " + pq.QuoteIdentifier(schema) + ".event_parameter_values SET value = 'd-forged' WHERE event_id = $1 AND value = 'd-1'"
			if _, err := pgtest.Admin(t).ExecContext(t.Context(), q, batch[1].ID.String()); err != nil {
				t.Fatal(err)
			}
			r := verify(t, s, chain.VerifyOptions{})
			wantProblem(t, r, chain.KindModified, batch[1].ID, 1)
		})
	}
}
