package postgres_test

import (
	"testing"

	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/storetest"
)

// TestConformance runs the store conformance suite through each driver,
// each subtest in a schema of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) storetest.Store { return d.open(t, pgtest.DSN(t), pgtest.Schema(t)) })
		})
	}
}
