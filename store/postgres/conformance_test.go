package postgres_test

import (
	"testing"

	"github.com/auditkit/audit/store/storetest"
)

// TestConformance runs the store conformance suite, each subtest in a schema
// of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
}
