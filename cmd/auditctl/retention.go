package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
)

func runRetention(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", `Delete the events that have outlived their level's retention (Datagrok's defaults: audit 365 days;
error, warning, info, usage 183; debug 30), their param values, and the sessions and users no remaining
event names after the sessions period (365 days). Postgres drops whole the partitions that have all expired
and deletes the rest 5,000 events a statement; SQLite deletes in short transactions, then gives the space back.
On a database with a digest chain, a signed expiry record is appended first (--key: the chain's signing
key, as for verify), so that verify counts what retention removed as expired, not deleted.
On Postgres, the periods are those of the current settings version ('auditctl settings', retention.LEVEL.days)
when the schema keeps settings; --keep overrides them. The rollups of the days expired are rolled up again.
Prints, per table and level, the rows removed; --dry-run prints what would be and changes nothing.`)
	dry := fs.Bool("dry-run", false, "count what would be removed, remove nothing")
	var keep listFlag
	fs.Var(&keep, "keep", "keep `LEVEL=DAYS` (or sessions=DAYS) instead of the settings' or the default; repeatable")
	keyFile := fs.String("key", "", "`file` of the digest chain's signing key (PEM Ed25519 private key or HMAC key)")
	var out outputFlags
	out.add(fs, "removed", "partitions")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	pol, err := parseKeep(keep)
	if err != nil {
		return err
	}
	if err := c.needDB(); err != nil {
		return err
	}
	key, err := readChainKey(*keyFile)
	if err != nil {
		return err
	}
	var rep audit.RetentionReport
	source := "defaults"
	if len(keep) > 0 {
		source = "defaults, --keep"
	}
	if isPostgres(c.db) {
		// The policy is read once the store is open: from the settings.
		run := pol
		opts := postgres.Options{Schema: c.schemaName(), Now: c.now, NoMigrate: true,
			RetentionPolicy: func() audit.Retention { return run }}
		s, err := postgres.Open(ctx, c.db, opts)
		if err != nil {
			return err
		}
		defer func() {
			if s != nil {
				s.Close(ctx)
			}
		}()
		if opts.Chain, err = chainWriter(ctx, s, key); err != nil {
			return err
		}
		if opts.Chain != nil {
			s.Close(ctx)
			if s, err = postgres.Open(ctx, c.db, opts); err != nil {
				return err
			}
		}
		set, version, err := settingsRetention(ctx, s.DB(), c.schemaName())
		if err != nil {
			return err
		}
		if version != 0 {
			run = overrideRetention(set, pol)
			source = fmt.Sprintf("settings version %d", version)
			if len(keep) > 0 {
				source += ", --keep"
			}
		}
		if rep, err = s.Retain(ctx, *dry); err != nil {
			return err
		}
	} else {
		ro, err := c.openSQLite(ctx) // the file exists and is migrated
		if err != nil {
			return err
		}
		cw, err := chainWriter(ctx, ro, key)
		ro.Close(ctx)
		if err != nil {
			return err
		}
		s, err := sqlite.Open(ctx, c.db, sqlite.Options{Now: c.now, NoMigrate: true, Retention: pol, Chain: cw})
		if err != nil {
			return err
		}
		defer s.Close(ctx)
		if rep, err = s.Retain(ctx, *dry); err != nil {
			return err
		}
	}
	return c.emit(out, retentionReport(rep, source))
}

// settingsRetention returns the retention of the current settings version
// of the schema (settings/pgsettings), and the version; version 0 when the
// schema keeps no settings.
func settingsRetention(ctx context.Context, db *sqlx.DB, schema string) (audit.Retention, int64, error) {
	q := pg.NewSettings(schema, pgsettings.Table)
	var exists bool
	if err := db.GetContext(ctx, &exists, q.Exists()); err != nil || !exists {
		return audit.Retention{}, 0, err
	}
	var v struct {
		Version int64  `db:"version"`
		Policy  []byte `db:"policy"`
	}
	err := db.GetContext(ctx, &v, q.Current())
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Retention{}, 0, nil
	}
	if err != nil {
		return audit.Retention{}, 0, fmt.Errorf("reading the settings: %w", err)
	}
	var p settings.Config
	if err := json.Unmarshal(v.Policy, &p); err != nil {
		return audit.Retention{}, 0, fmt.Errorf("settings version %d: %w", v.Version, err)
	}
	return p.RetentionOf(), v.Version, nil
}

// overrideRetention returns base with the periods keep sets.
func overrideRetention(base, keep audit.Retention) audit.Retention {
	out := audit.Retention{Levels: maps.Clone(base.Levels), Sessions: base.Sessions}
	if out.Levels == nil {
		out.Levels = map[audit.Level]time.Duration{}
	}
	maps.Copy(out.Levels, keep.Levels)
	if keep.Sessions != 0 {
		out.Sessions = keep.Sessions
	}
	return out
}

// chainWriter returns the chain writer that records retention's expiry
// in the digest chain of store's database, nil when it holds no chain
// (nothing to record).
func chainWriter(ctx context.Context, store any, key chain.Key) (*chain.Writer, error) {
	db, err := driver.Find(store)
	if err != nil {
		return nil, err
	}
	var one int
	err = db.QueryRowxContext(ctx, "SELECT 1 FROM "+db.Table(driver.TableDigests)+" LIMIT 1").Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Translate("auditctl", "retention", err)
	}
	return chain.NewWriter(chain.Options{Key: key})
}

// parseKeep reads the --keep flags.
func parseKeep(vals []string) (audit.Retention, error) {
	r := audit.Retention{Levels: map[audit.Level]time.Duration{}}
	for _, v := range vals {
		name, days, ok := strings.Cut(v, "=")
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); !ok || err != nil || n <= 0 || fmt.Sprint(n) != days {
			return r, usageErrorf("--keep %q: want LEVEL=DAYS, DAYS a positive integer", v)
		}
		d := time.Duration(n) * audit.Day
		if name == "sessions" {
			r.Sessions = d
			continue
		}
		l, err := audit.ParseLevel(name)
		if err != nil {
			return r, usageErrorf("--keep %q: %q is neither a level nor sessions", v, name)
		}
		r.Levels[l] = d
	}
	return r, nil
}

// retentionJSON is the JSON of a retention report.
type retentionJSON struct {
	DryRun            bool               `json:"dry_run"`
	Source            string             `json:"source"` // where the periods come from
	Cutoffs           map[string]string  `json:"cutoffs"`
	Removed           []retentionRowJSON `json:"removed"`
	DroppedPartitions []string           `json:"dropped_partitions"`
}

type retentionRowJSON struct {
	Table string `json:"table"`
	Level string `json:"level,omitempty"`
	Rows  int64  `json:"rows"`
}

func retentionReport(rep audit.RetentionReport, source string) report {
	verb := "removed"
	if rep.Dry {
		verb = "would remove (dry run)"
	}
	v := retentionJSON{DryRun: rep.Dry, Source: source, Cutoffs: map[string]string{}, Removed: []retentionRowJSON{}, DroppedPartitions: rep.DroppedPartitions}
	lines := []string{"retention periods: " + source}
	for _, l := range audit.Levels() {
		v.Cutoffs[l.String()] = rep.Cutoffs[l].UTC().Format(time.RFC3339)
		lines = append(lines, fmt.Sprintf("%s events before %s", l, rep.Cutoffs[l].UTC().Format(time.RFC3339)))
	}
	removed := table{name: "removed", title: verb, cols: cols("table", "level", "rows")}
	for _, r := range rep.Removed {
		lv := ""
		if r.Level != 0 {
			lv = r.Level.String()
		}
		removed.rows = append(removed.rows, []any{r.Table, lv, r.Rows})
		v.Removed = append(v.Removed, retentionRowJSON{r.Table, lv, r.Rows})
	}
	parts := table{name: "partitions", title: "partitions dropped whole", cols: cols("partition")}
	for _, p := range rep.DroppedPartitions {
		parts.rows = append(parts.rows, []any{p})
	}
	if v.DroppedPartitions == nil {
		v.DroppedPartitions = []string{}
	}
	return report{value: v, lines: lines, tables: []table{removed, parts}}
}
