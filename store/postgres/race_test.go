//go:build race

package postgres_test

// Under the race detector the retention tests write a smaller corpus and
// do not time the concurrent writer.
const (
	retentionEvents  = 1_000
	retentionMaxWait = 0
)
