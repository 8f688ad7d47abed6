package jsonl_test

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/jsonl"
	"github.com/auditkit/audit/export/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t testing.TB) (audit.Sink, sinktest.Reader) {
			var buf bytes.Buffer
			s := jsonl.New(bufio.NewWriter(&buf), jsonl.Options{})
			return s, func(t testing.TB) []uuid.UUID {
				events, err := jsonl.ReadEvents(bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatalf("reading back: %v", err)
				}
				out := make([]uuid.UUID, len(events))
				for i := range events {
					out[i] = events[i].ID
				}
				return out
			}
		},
	})
}
