package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/sqlite"
)

// Retain deletes what has outlived the retention (Options.RetentionPolicy,
// else Options.Retention) at Options.Now, and returns what it removed:
//
//   - The retention's BeforeExpire hook is called first, with each level's
//     cutoff, before anything is deleted; its error stops the run.
//   - The expired events are deleted level by level with their param
//     values, 300 events per transaction: each holds the write lock only
//     for its batch, so writers of every process take turns with it.
//   - Sessions started, and users joined, before the sessions period that no
//     remaining event (or session, for users) names are deleted; a user
//     goes with its personal group.
//   - PRAGMA incremental_vacuum then gives the freed pages back to the file
//     system. Files this store created have auto_vacuum=INCREMENTAL; an
//     older file keeps its free pages for new rows until a VACUUM (which
//     rewrites the file, holding the write lock meanwhile; run
//     "PRAGMA auto_vacuum = INCREMENTAL; VACUUM;" once to switch it over).
//
// With dry, nothing is deleted and the report counts what would be. A
// read-only store refuses it.
// On a database that holds a digest chain (package chain), the expiry is
// first recorded in the chain through Options.Chain, so that verify counts
// the removed events as expired; without Options.Chain such a database is
// refused with [audit.ErrInvalidOptions].
func (s *Store) Retain(ctx context.Context, dry bool) (audit.RetentionReport, error) {
	if err := s.checkOpen(); err != nil {
		return audit.RetentionReport{}, err
	}
	if s.w == nil {
		return audit.RetentionReport{}, audit.Permanent(fmt.Errorf("sqlite: retain: %w", ErrReadOnly))
	}
	pol := s.opts.Retention
	if s.opts.RetentionPolicy != nil {
		pol = s.opts.RetentionPolicy()
	}
	if !dry {
		var record func(context.Context, map[audit.Level]time.Time) error
		if s.opts.Chain != nil {
			record = s.RecordExpiry
		}
		var err error
		if pol, err = driver.ChainRetention(ctx, sqlite.Dialect{}, s.w, pol, record); err != nil {
			return audit.RetentionReport{}, translate("retain", err)
		}
	}
	rep, err := driver.Retain(ctx, sqlite.Retainer{DB: s.w}, pol, s.opts.Now(), dry)
	return rep, translate("retain", err)
}
