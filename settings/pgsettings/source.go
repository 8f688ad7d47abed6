package pgsettings

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/driver/pg"
	dsnmask "github.com/auditkit/audit/internal/dsn"
	"github.com/auditkit/audit/settings"
)

// Channel is the LISTEN/NOTIFY channel on which a change is announced; the
// payload is the name of the schema whose policy changed.
const Channel = "audit_log_settings"

// Table is the table, in Options.Schema, that holds every version of the
// policy.
const Table = pg.SettingsTable

// Options configure a [Source]. The zero value means the defaults.
type Options struct {
	// Schema is the schema that holds the table; the audit tables' schema
	// is the natural choice. Open creates the schema and the table when
	// missing. Default "public".
	Schema string
	// PollInterval is how often the current version is read even without
	// a notification, in case one was missed. Default 10s.
	PollInterval time.Duration
	// OnError receives the errors of the background work: a version that
	// cannot be read or applied (the policy in force stays), a lost
	// listening connection. Default: logged to slog.Default() at level
	// ERROR.
	OnError func(error)
	// Logger, when set, records each change made through this Source
	// ([Source.Set], [Source.Revert]) as an audit event of type
	// log-settings-changed, attributed to the user who made it. Default nil.
	Logger *audit.Logger
}

func (o Options) withDefaults() Options {
	if o.Schema == "" {
		o.Schema = "public"
	}
	if o.PollInterval == 0 {
		o.PollInterval = 10 * time.Second
	}
	if o.OnError == nil {
		o.OnError = func(err error) {
			slog.Default().LogAttrs(context.Background(), slog.LevelError, "pgsettings", slog.Any("error", err))
		}
	}
	return o
}

func (o Options) validate() error {
	switch {
	case len(o.Schema) > 63:
		return fmt.Errorf("pgsettings: %w: Schema %q is longer than 63 bytes", audit.ErrInvalidOptions, o.Schema)
	case !utf8.ValidString(o.Schema):
		return fmt.Errorf("pgsettings: %w: Schema %q is not valid UTF-8", audit.ErrInvalidOptions, o.Schema)
	case o.PollInterval < 0:
		return fmt.Errorf("pgsettings: %w: PollInterval must be positive, got %s", audit.ErrInvalidOptions, o.PollInterval)
	}
	return nil
}

// Version is one version of the policy, as kept in the table.
type Version struct {
	// Version numbers the versions in the order they were made.
	Version int64
	// Config is the policy; its Version field is Version.
	Config settings.Config
	// ChangedBy and ChangedAt say who made the version, and when.
	ChangedBy string
	ChangedAt time.Time
	// Comment says why.
	Comment string
	// RevertOf is the version this one reverted to; 0 when it was not a
	// revert.
	RevertOf int64
}

// row is a row of the table.
type row struct {
	Version   int64         `db:"version"`
	Policy    []byte        `db:"policy"`
	ChangedBy string        `db:"changed_by"`
	ChangedAt time.Time     `db:"changed_at"`
	Comment   string        `db:"comment"`
	RevertOf  sql.NullInt64 `db:"revert_of"`
}

// parse returns the policy stored in raw as version v.
func parse(v int64, raw []byte) (settings.Config, error) {
	var p settings.Config
	if err := json.Unmarshal(raw, &p); err != nil {
		return settings.Config{}, err
	}
	p.Version = v
	return p, nil
}

// Source keeps a [settings.Engine] on the policy stored in Postgres, and
// changes it there for every process that uses the same database. It is
// safe for concurrent use.
type Source struct {
	db       *sqlx.DB
	e        *settings.Engine
	opts     Options
	sql      pg.Settings
	listener *pq.Listener

	closed  atomic.Bool
	mu      sync.Mutex // serializes reading and applying versions
	applied int64      // the version in force; 0 before any
	failed  int64      // the last version that could not be applied, reported once

	base      context.Context // cancelled by Close
	cancel    context.CancelFunc
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	dbOnce    sync.Once
	closeErr  error
}

// Open connects to the Postgres server at dsn (a URL or key=value string, as
// lib/pq takes), creates the schema and the table when missing, starts
// listening for changes, and applies the current version to e, when there is
// one (else e keeps its policy until the first [Source.Set]). A current
// version that cannot be applied is reported to OnError, and e keeps its
// policy. Stop with [Source.Close]; it does not close e.
func Open(ctx context.Context, dsn string, e *settings.Engine, opts Options) (*Source, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("pgsettings: %w: nil engine", audit.ErrInvalidOptions)
	}
	if _, err := pq.NewConfig(dsn); err != nil {
		return nil, fmt.Errorf("pgsettings: %w: malformed DSN: %s", audit.ErrInvalidOptions, dsnmask.Redact(err.Error(), dsn))
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgsettings: open: %w", err)
	}
	db.SetMaxOpenConns(4)
	s := &Source{
		db: db, e: e, opts: opts,
		sql:  pg.NewSettings(opts.Schema, Table),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	if err := s.migrate(ctx); err != nil {
		s.cancel()
		db.Close()
		return nil, err
	}
	// Listen before reading the current version, so no change falls between.
	s.listener = pq.NewListener(dsn, 100*time.Millisecond, 5*time.Second, s.listenerEvent)
	listening := make(chan error, 1)
	go func() { listening <- s.listener.Listen(Channel) }()
	select {
	case err = <-listening:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		err = s.Refresh(ctx)
		if errors.Is(err, settings.ErrInvalidPolicy) {
			opts.OnError(err)
			err = nil
		}
	}
	if err != nil {
		s.listener.Close()
		<-listening
		go drain(s.listener.Notify)
		s.cancel()
		db.Close()
		return nil, translate("listen", err)
	}
	go s.run()
	return s, nil
}

// drain empties a listener's channel until the listener closes it, which it
// does when its goroutine ends.
func drain(c <-chan *pq.Notification) {
	for range c {
	}
}

func (s *Source) listenerEvent(ev pq.ListenerEventType, err error) {
	if err != nil {
		s.opts.OnError(translate("listen: "+ev.String(), err))
	}
}

// migrate creates the schema and the table when missing. Many processes may
// run it at once: the first takes an advisory lock, the others wait. A
// table that exists is left alone, so that a role without the right to
// create (postgres.AccessWriter or AccessReader) may open it.
func (s *Source) migrate(ctx context.Context) error {
	var exists bool
	if err := s.db.GetContext(ctx, &exists, s.sql.Exists()); err != nil {
		return translate("migrate", err)
	}
	if exists {
		return nil
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return translate("migrate", err)
	}
	defer tx.Rollback()
	for _, q := range append([]string{s.sql.Lock()}, s.sql.Create()...) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return translate("migrate", err)
		}
	}
	return translate("migrate", tx.Commit())
}

// run re-reads the current version on each notification for the schema,
// after a reconnection (when notifications may have been missed), and every
// PollInterval.
func (s *Source) run() {
	defer close(s.done)
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	notify := s.listener.NotificationChannel()
	for {
		select {
		case <-s.stop:
			s.listener.Close()
			drain(notify)
			return
		case n, ok := <-notify:
			if !ok {
				<-s.stop
				return
			}
			if n != nil && n.Extra != s.opts.Schema {
				continue
			}
		case <-t.C:
		}
		if err := s.Refresh(s.base); err != nil && s.base.Err() == nil {
			s.opts.OnError(err)
		}
	}
}

// Refresh reads the current version now and applies it when it is not the
// one in force; the Source does so by itself on notifications and every
// PollInterval. A version that cannot be applied is returned (wrapping
// [settings.ErrInvalidPolicy]) the first time it is read, and nil after;
// the policy in force stays.
func (s *Source) Refresh(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("pgsettings: refresh: %w", audit.ErrClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	var r row
	err := s.db.GetContext(ctx, &r, s.sql.Current())
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return translate("read", err)
	}
	if r.Version == s.applied || r.Version == s.failed {
		return nil
	}
	_, err = s.apply(r.Version, r.Policy)
	return err
}

// apply parses a stored policy and puts it in force. A version that cannot
// be applied is remembered, so that it is reported once. s.mu is held.
func (s *Source) apply(version int64, raw []byte) (settings.Config, error) {
	p, err := parse(version, raw)
	if err == nil {
		err = s.e.Set(p)
	}
	if err != nil {
		s.failed = version
		return settings.Config{}, fmt.Errorf("pgsettings: version %d: %w", version, err)
	}
	s.applied = version
	return p, nil
}

// Set validates p and stores it as the new current version, made by the
// user named by, for the reason comment. It puts it in force in this
// process at once, and in every other process using the same database
// within a second (LISTEN/NOTIFY; the periodic re-read is the fallback). An
// invalid p is refused with an error wrapping [settings.ErrInvalidPolicy].
// Set returns the new version.
func (s *Source) Set(ctx context.Context, p settings.Config, by, comment string) (Version, error) {
	if s.closed.Load() {
		return Version{}, fmt.Errorf("pgsettings: set: %w", audit.ErrClosed)
	}
	p.Version = 0
	if err := p.Validate(); err != nil {
		return Version{}, err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return Version{}, fmt.Errorf("pgsettings: set: %w", err)
	}
	return s.insert(ctx, raw, by, comment, 0)
}

// Revert makes the policy of an earlier version current again, as a new
// version that records which one it reverts to. It fails with
// [ErrNoVersion] when there is no such version.
func (s *Source) Revert(ctx context.Context, version int64, by string) (Version, error) {
	if s.closed.Load() {
		return Version{}, fmt.Errorf("pgsettings: revert: %w", audit.ErrClosed)
	}
	var raw []byte
	err := s.db.GetContext(ctx, &raw, s.sql.Policy(), version)
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, fmt.Errorf("%w: %d", ErrNoVersion, version)
	}
	if err != nil {
		return Version{}, translate("revert", err)
	}
	return s.insert(ctx, raw, by, fmt.Sprintf("revert to version %d", version), version)
}

func (s *Source) insert(ctx context.Context, raw []byte, by, comment string, revertOf int64) (Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Version{}, translate("set", err)
	}
	defer tx.Rollback()
	// Versions are numbered in commit order: changes wait for each other.
	if _, err := tx.ExecContext(ctx, s.sql.Lock()); err != nil {
		return Version{}, translate("set", err)
	}
	v := Version{ChangedBy: by, Comment: comment, RevertOf: revertOf}
	err = tx.QueryRowxContext(ctx, s.sql.Insert(),
		string(raw), by, comment, sql.NullInt64{Int64: revertOf, Valid: revertOf != 0}).Scan(&v.Version, &raw, &v.ChangedAt)
	if err != nil {
		return Version{}, translate("set", err)
	}
	if _, err := tx.ExecContext(ctx, s.sql.Notify(), Channel, s.opts.Schema); err != nil {
		return Version{}, translate("set: notify", err)
	}
	if err := tx.Commit(); err != nil {
		return Version{}, translate("set: commit", err)
	}
	// Stored, so the version exists even if this process cannot apply it
	// (a revert to a policy of an older format).
	if v.Config, err = s.apply(v.Version, raw); err != nil {
		return v, err
	}
	if s.opts.Logger != nil {
		params := map[string]any{"version": v.Version, "comment": comment, "rules": len(v.Config.Rules)}
		if revertOf != 0 {
			params["revert_of"] = revertOf
		}
		s.opts.Logger.WithUser(by).Audit("log settings changed", params, datagrok.LogSettingsChanged)
	}
	return v, nil
}

// History returns the versions, newest first: at most limit of them, or all
// when limit is 0.
func (s *Source) History(ctx context.Context, limit int) ([]Version, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("pgsettings: history: %w", audit.ErrClosed)
	}
	var rows []row
	if err := s.db.SelectContext(ctx, &rows, s.sql.History(limit)); err != nil {
		return nil, translate("history", err)
	}
	vs := make([]Version, len(rows))
	for i, r := range rows {
		p, err := parse(r.Version, r.Policy)
		if err != nil {
			return nil, fmt.Errorf("pgsettings: history: version %d: %w", r.Version, err)
		}
		vs[i] = Version{Version: r.Version, Config: p, ChangedBy: r.ChangedBy, ChangedAt: r.ChangedAt, Comment: r.Comment, RevertOf: r.RevertOf.Int64}
	}
	return vs, nil
}

// Applied returns the version in force in this process; 0 when none was
// read from the database yet.
func (s *Source) Applied() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied
}

// Effective returns the effective settings of subj under the policy in
// force: what is logged for it, and which rule decides. See
// [settings.Engine.Explain].
func (s *Source) Effective(subj audit.Subject) settings.Explanation {
	return s.e.Explain(subj)
}

// Close stops listening and re-reading, and closes the connections. It
// waits for the background goroutine, or for ctx to end (returning its
// error). It is idempotent; the engine keeps the policy in force.
func (s *Source) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		s.cancel()
	})
	select {
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.dbOnce.Do(func() { s.closeErr = translate("close", s.db.Close()) })
	return s.closeErr
}
