//go:build !race

package postgres_test

import "time"

// The retention tests' corpus, and the longest a concurrent writer's batch
// may wait during the run.
const (
	retentionEvents  = 20_000
	retentionMaxWait = time.Second
)
