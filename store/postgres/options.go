package postgres

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/driver"
)

// Options configure a [Store]. The zero value means the defaults.
type Options struct {
	// Schema is the schema that holds the tables; [Store.Migrate] creates it
	// when missing. Any name Postgres accepts (1 to 63 bytes of UTF-8
	// without NUL) works: it is always quoted. Default "public".
	Schema string

	// NoMigrate keeps [Open] from migrating: for a role that may not
	// change the schema, or a schema migrated by hand ([MigrationSQL]).
	// Default false: Open brings the tables up to date.
	NoMigrate bool

	// SessionCache is how many sessions the store remembers having recorded
	// in users_sessions, to skip inserting them again. Default 100,000.
	SessionCache int

	// ActivityWindow is how far back [Store.Activity] looks when not told.
	// Default 7 days (Datagrok's Activity pane).
	ActivityWindow time.Duration

	// Now returns the current time; Activity's window ends at it, and
	// partitions and retention count from it. Default [time.Now].
	Now func() time.Time

	// Partition is the time range of each partition of events and
	// event_parameter_values. Default [PartitionMonth]. Changing it later
	// is safe: partitions already made keep their range, and a new range
	// that overlaps one of them leaves its rows to it (or to the DEFAULT
	// partition).
	Partition Partition

	// Retention is how long events, sessions and users are kept, which
	// [Store.Retain] applies. Default: Datagrok's periods
	// ([audit.DefaultRetention]).
	Retention audit.Retention

	// RetentionPolicy, when set, gives the retention at each run instead
	// of Retention (for one from the settings: a settings.Engine's
	// Retention method). Default nil.
	RetentionPolicy func() audit.Retention

	// RetentionInterval, when positive, makes the store run [Store.Retain]
	// in the background every interval, from New, NewPool or Open until
	// Close; of the stores of all processes on one schema, one runs at a
	// time. Default 0: only when called.
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
	if o.Schema == "" {
		o.Schema = "public"
	}
	driver.Defaults(&o.SessionCache, &o.ActivityWindow, &o.Now)
	driver.RetentionDefaults(&o.OnRetentionError)
	return o
}

func (o Options) validate() error {
	switch {
	case len(o.Schema) > 63:
		return fmt.Errorf("postgres: %w: Schema %q is longer than 63 bytes", audit.ErrInvalidOptions, o.Schema)
	case !utf8.ValidString(o.Schema) || containsNUL(o.Schema):
		return fmt.Errorf("postgres: %w: Schema %q is not valid text", audit.ErrInvalidOptions, o.Schema)
	case o.Partition < PartitionMonth || o.Partition > PartitionDay:
		return fmt.Errorf("postgres: %w: Partition %d is not one of PartitionMonth, PartitionWeek, PartitionDay", audit.ErrInvalidOptions, o.Partition)
	}
	if err := driver.CheckRetention("postgres", o.RetentionInterval, o.Retention); err != nil {
		return err
	}
	return driver.CheckOptions("postgres", o.SessionCache, o.ActivityWindow)
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}
