package sqlite_test

import (
	"testing"

	"github.com/auditkit/audit/store/storetest"
)

// TestConformance runs the store conformance suite, each subtest on a file
// of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
}
