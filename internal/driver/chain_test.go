package driver

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
)

// BenchmarkSeal measures what the chain adds to a batch on the write path
// beyond its one INSERT: hashing each event's rows and building the
// record, per event of a batch of 1000 with 5 params each.
func BenchmarkSeal(b *testing.B) {
	events := make([]audit.Event, 1000)
	for i := range events {
		events[i] = audit.Event{ID: uuid.Must(uuid.NewV7()), Time: time.Now(), Level: audit.LevelUsage, Type: "http-request",
			Message: "GET /api/queries/{id}", SessionID: fmt.Sprint("session-", i%50), UserID: fmt.Sprint("user-", i%20),
			Duration: 12 * time.Millisecond, Params: []audit.Param{audit.P("method", "GET"), audit.P("ms", 12),
				audit.P("query", audit.Ref("query", uuid.NewString())), audit.P("route", "/api/queries/{id}"), audit.P("status", 200)}}
	}
	rows, err := EncodeBatch(events)
	if err != nil {
		b.Fatal(err)
	}
	c := &ChainWriter{Writer: "w", Now: time.Now, loaded: true, prev: make([]byte, sha256.Size)}
	b.ReportAllocs()
	b.ResetTimer()
	for lo := 0; lo < b.N; lo += len(rows) {
		c.Seal(rows[:min(len(rows), b.N-lo)])
	}
}
