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

	// Now returns the current time; Activity's window ends at it. Default
	// [time.Now].
	Now func() time.Time

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
	return o
}

func (o Options) validate() error {
	switch {
	case len(o.Schema) > 63:
		return fmt.Errorf("postgres: %w: Schema %q is longer than 63 bytes", audit.ErrInvalidOptions, o.Schema)
	case !utf8.ValidString(o.Schema) || containsNUL(o.Schema):
		return fmt.Errorf("postgres: %w: Schema %q is not valid text", audit.ErrInvalidOptions, o.Schema)
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
