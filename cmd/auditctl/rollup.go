package main

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit/store/postgres"
)

func runRollup(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", `Bring the rollup tables that the window questions read up to date (Postgres only), as one run
of the rollup runner a service starts with postgres.Store.StartRollups does. --rebuild computes them again
from the events, exactly, from --since (default: the oldest event) up to the current hour.`)
	rebuild := fs.Bool("rebuild", false, "compute the rollups again from the events")
	sinceFlag := fs.String("since", "", "with --rebuild: from this `time` (2026-11-01, 30d), rounded down to its UTC day")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if *sinceFlag != "" && !*rebuild {
		return usageErrorf("--since needs --rebuild")
	}
	since, err := parseTime(*sinceFlag, c.now())
	if err != nil {
		return usageErrorf("--since: %v", err)
	}
	if err := c.needDB(); err != nil {
		return err
	}
	if !isPostgres(c.db) {
		return usageErrorf("rollups need a Postgres database: on SQLite the questions read the events")
	}
	s, err := c.openPostgres(ctx)
	if err != nil {
		return err
	}
	defer s.Close(ctx)
	start := time.Now()
	if *rebuild {
		err = s.RebuildRollups(ctx, since)
	} else {
		var ok bool
		ok, err = s.Rollup(ctx, postgres.RollupOptions{Now: c.now})
		if err == nil && !ok {
			_, err = fmt.Fprintln(c.stdout, "another process was writing the rollups: part of the work is left to its next run")
		}
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "rollups of schema %q up to date in %s\n", s.Schema(), time.Since(start).Round(time.Millisecond))
	return err
}
