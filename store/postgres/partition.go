package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
)

// Partition is the time range of each partition of events and
// event_parameter_values.
type Partition int

// The partition ranges.
const (
	PartitionMonth Partition = iota // calendar months, UTC
	PartitionWeek                   // weeks from Monday, UTC
	PartitionDay                    // days, UTC
)

func (p Partition) period() pg.Period {
	return [...]pg.Period{pg.Month, pg.Week, pg.Day}[p]
}

// How far from now the store creates partitions: ahead of time on
// [Store.Migrate], and on demand for the times of a batch. Times beyond
// the on-demand window go to the DEFAULT partition.
const (
	partitionsAhead = 3
	demandPast      = 10 * 365 * 24 * time.Hour
	demandFuture    = 366 * 24 * time.Hour
)

// partitions remembers which partitions exist, so that a batch asks the
// server only for the ranges it has not met.
type partitions struct {
	pg.Partitions
	mu      sync.Mutex
	checked bool                    // whether partitioned is known
	on      bool                    // events is partitioned
	known   map[time.Time]bool      // period starts created, or left to another partition
	busy    map[time.Time]time.Time // period starts whose creation hit the lock timeout, and when
}

// busyRetry is how long a partition whose creation timed out on its lock
// is left to the DEFAULT partition before a batch tries again.
const busyRetry = time.Minute

// ensure creates the partitions of the periods that hold times, within the
// on-demand window around now, unless the tables are not partitioned.
// Failing to create one is not an error of the batch: its rows go to the
// DEFAULT partition.
func (s *Store) ensurePartitions(ctx context.Context, times []time.Time) error {
	p := &s.parts
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.checked {
		on, err := p.Partitioned(ctx, s.conn.DB())
		if err != nil {
			return err
		}
		p.checked, p.on = true, on
	}
	if !p.on {
		return nil
	}
	now := s.opts.Now()
	for _, t := range times {
		start := p.Period().Start(t)
		if p.known[start] || t.Before(now.Add(-demandPast)) || t.After(now.Add(demandFuture)) {
			continue
		}
		if at, ok := p.busy[start]; ok && now.Sub(at) < busyRetry {
			continue // the DEFAULT partition takes the rows until the next try
		}
		if _, err := p.Create(ctx, s.conn.DB(), start); err != nil {
			code, _, _ := pg.Code(err)
			if code == "42501" {
				p.known[start] = true // the role may not create tables: the default partition takes the rows
				continue
			}
			if code == "55P03" {
				// Writers of other processes held the tables past the lock
				// timeout: the default partition takes the rows meanwhile,
				// and a batch after busyRetry tries again (not every batch,
				// each of which would wait for the lock timeout).
				if p.busy == nil {
					p.busy = map[time.Time]time.Time{}
				}
				p.busy[start] = now
				continue
			}
			return err
		}
		p.known[start] = true
	}
	return nil
}

// batchTimes returns the period starts of the rows, once each.
func (s *Store) batchTimes(rows []driver.EventRow) []time.Time {
	var out []time.Time
	seen := map[time.Time]bool{}
	for i := range rows {
		st := s.parts.Period().Start(rows[i].Time)
		if !seen[st] {
			seen[st] = true
			out = append(out, st)
		}
	}
	return out
}

// createAhead creates the partitions from the period before now's to
// partitionsAhead periods after it.
func (s *Store) createAhead(ctx context.Context) error {
	per := s.parts.Period()
	start := per.Start(s.opts.Now()).Add(-time.Nanosecond)
	start = per.Start(start)
	times := make([]time.Time, 0, partitionsAhead+2)
	for range partitionsAhead + 2 {
		times = append(times, start)
		start = per.Next(start)
	}
	return s.ensurePartitions(ctx, times)
}

// Partition converts the unpartitioned tables of a database migrated before
// partitions existed (events and event_parameter_values holding rows when
// [Store.Migrate] added migration 4) into partitioned ones, live: writers
// keep writing while it runs, and are held back only by the final swap,
// which waits at most one second for its locks (and is retried). Steps:
//
//  1. event_parameter_values.event_time is filled from the events, 5,000
//     rows per statement (values of no stored event get -infinity).
//  2. CHECK constraints bound both tables' event_time below the end of the
//     period after the later of now and the newest event; they are added
//     NOT VALID, then validated, which does not block writes.
//  3. The unique indexes of the partitioned keys are built CONCURRENTLY.
//  4. In one short transaction the tables are renamed events_legacy and
//     event_parameter_values_legacy, partitioned tables take their names,
//     and the old tables are attached as one partition each, from MINVALUE
//     to that bound: the validated constraints spare the scan.
//
// Partitions are then created from the bound on. Writers must run this
// version of the store (which fills event_time) before the conversion;
// events timed beyond the bound that arrive during it are refused by the
// constraint until the swap (the Logger retries them). It returns an error
// wrapping [ErrPartitioned] when the tables are partitioned already. Run as
// the owner of the tables; the conversion can be run again after a failure.
func (s *Store) Partition(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	err := s.parts.Convert(ctx, s.conn.DB(), s.opts.Now())
	if err != nil {
		if err == pg.ErrPartitioned {
			return fmt.Errorf("postgres: partition: %w", ErrPartitioned)
		}
		return translate("partition", err)
	}
	s.parts.mu.Lock()
	s.parts.checked = false
	s.parts.mu.Unlock()
	return s.createAhead(ctx)
}
