package sqlite

import (
	"fmt"
	"io/fs"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/driver"
)

// Options configure a [Store]. The zero value means the defaults.
type Options struct {
	// BusyTimeout is how long a statement waits for the lock of a write held
	// by another process (or, for reads, a checkpoint) before it fails with
	// an error wrapping [audit.ErrUnavailable]. Default 10s.
	BusyTimeout time.Duration

	// ReadConns bounds the connections that serve reads, which run beside
	// the one connection that writes. Default 4.
	ReadConns int

	// RelaxedSync sets synchronous=NORMAL: commits are not flushed to disk
	// one by one, so a power loss (not a crash of the process) may lose the
	// last ones, but never corrupts the file. Default false
	// (synchronous=FULL: a committed batch survives a power loss).
	RelaxedSync bool

	// NoMigrate keeps [Open] from migrating: for a file migrated by hand
	// ([MigrationSQL]). Default false: Open brings the tables up to date.
	NoMigrate bool

	// ReadOnly opens the file read-only: Open does not create or migrate
	// it, no connection takes the write lock, and Write is refused with an
	// error wrapping [ErrReadOnly]. Default false.
	ReadOnly bool

	// SessionCache is how many sessions the store remembers having recorded
	// in users_sessions, to skip inserting them again. Default 100,000.
	SessionCache int

	// ActivityWindow is how far back [Store.Activity] looks when not told.
	// Default 7 days (Datagrok's Activity pane).
	ActivityWindow time.Duration

	// Now returns the current time; Activity's window ends at it. Default
	// [time.Now].
	Now func() time.Time

	// FileMode is the permission bits of the database file when Open
	// creates it; SQLite gives its -wal and -shm files the same. The
	// process's umask still applies. A file that exists keeps its mode.
	// Default 0600: only the owner reads the trail.
	FileMode fs.FileMode

	// Retention is how long events, sessions and users are kept, which
	// [Store.Retain] applies. Default: Datagrok's periods
	// ([audit.DefaultRetention]).
	Retention audit.Retention

	// RetentionPolicy, when set, gives the retention at each run instead
	// of Retention (for one from the settings: a settings.Engine's
	// Retention method). Default nil.
	RetentionPolicy func() audit.Retention

	// RetentionInterval, when positive, makes the store run [Store.Retain]
	// in the background every interval, from Open until Close. Default 0:
	// only when called.
	RetentionInterval time.Duration

	// OnRetentionError receives the errors of background retention runs.
	// Default: logged with [slog.Default].
	OnRetentionError func(error)

	// Chain, when set, makes every batch write a record of the
	// tamper-evident digest chain in its transaction (see package chain).
	// A Writer serves one store. Default nil: no chain.
	Chain *chain.Writer
}

func (o Options) withDefaults() Options {
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.ReadConns == 0 {
		o.ReadConns = 4
	}
	if o.FileMode == 0 {
		o.FileMode = 0o600
	}
	driver.Defaults(&o.SessionCache, &o.ActivityWindow, &o.Now)
	driver.RetentionDefaults(&o.OnRetentionError)
	return o
}

func (o Options) validate() error {
	switch {
	case o.BusyTimeout < time.Millisecond:
		return fmt.Errorf("sqlite: %w: BusyTimeout %s is less than 1ms", audit.ErrInvalidOptions, o.BusyTimeout)
	case o.ReadConns < 0:
		return fmt.Errorf("sqlite: %w: ReadConns %d is negative", audit.ErrInvalidOptions, o.ReadConns)
	case o.FileMode&^fs.ModePerm != 0:
		return fmt.Errorf("sqlite: %w: FileMode %s has more than permission bits", audit.ErrInvalidOptions, o.FileMode)
	}
	if err := driver.CheckRetention("sqlite", o.RetentionInterval, o.Retention); err != nil {
		return err
	}
	return driver.CheckOptions("sqlite", o.SessionCache, o.ActivityWindow)
}
