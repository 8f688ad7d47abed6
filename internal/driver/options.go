package driver

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/auditkit/audit"
)

// Defaults fills in the defaults of the options every SQL store has: a
// session cache of 100,000, an Activity window of 7 days (Datagrok's
// Activity pane), and time.Now.
func Defaults(sessionCache *int, activityWindow *time.Duration, now *func() time.Time) {
	if *sessionCache == 0 {
		*sessionCache = 100_000
	}
	if *activityWindow == 0 {
		*activityWindow = 7 * 24 * time.Hour
	}
	if *now == nil {
		*now = time.Now
	}
}

// CheckOptions validates the options every SQL store has, naming the field
// in an error wrapping audit.ErrInvalidOptions prefixed "pkg: ".
func CheckOptions(pkg string, sessionCache int, activityWindow time.Duration) error {
	switch {
	case sessionCache < 0:
		return fmt.Errorf("%s: %w: SessionCache %d is negative", pkg, audit.ErrInvalidOptions, sessionCache)
	case activityWindow < 0:
		return fmt.Errorf("%s: %w: ActivityWindow %s is negative", pkg, audit.ErrInvalidOptions, activityWindow)
	}
	return nil
}

// RetentionDefaults fills in the default of the stores' OnRetentionError:
// log with slog.Default.
func RetentionDefaults(onErr *func(error)) {
	if *onErr == nil {
		*onErr = func(err error) { slog.Default().Error("audit retention", "err", err) }
	}
}

// CheckRetention validates the retention options every SQL store has,
// naming the field in an error wrapping audit.ErrInvalidOptions prefixed
// "pkg: ".
func CheckRetention(pkg string, interval time.Duration, r audit.Retention) error {
	if interval < 0 {
		return fmt.Errorf("%s: %w: RetentionInterval %s is negative", pkg, audit.ErrInvalidOptions, interval)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%s: %w", pkg, err)
	}
	return nil
}
