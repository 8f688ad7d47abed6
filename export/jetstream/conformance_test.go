package jetstream_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditkit/audit"
	auditjs "github.com/auditkit/audit/export/jetstream"
	"github.com/auditkit/audit/export/sinktest"
	"github.com/auditkit/audit/internal/natstest"
)

func TestConformance(t *testing.T) {
	var stall func() // the server of the sink New made last
	sinktest.Run(t, sinktest.Harness{
		New: func(t testing.TB) (audit.Sink, sinktest.Reader) {
			srv := natstest.Start(t)
			stall = srv.Pause
			s, err := auditjs.New(context.Background(), auditjs.Options{
				URL:        srv.URL(),
				Stream:     auditjs.Stream{Create: true, MaxMsgSize: 64 << 10},
				AckTimeout: time.Second,
				OnError:    func(error) {},
			})
			if err != nil {
				t.Fatal(err)
			}
			return s, func(t testing.TB) []uuid.UUID { return streamIDs(t, srv.URL(), auditjs.DefaultStream) }
		},
		// The stream takes messages up to 64 KiB.
		Refuse: func(e *audit.Event) { e.Message = strings.Repeat("x", 100<<10) },
		Stall:  func() { stall() },
	})
}

// streamIDs returns the IDs of the events the stream holds, in order.
func streamIDs(t testing.TB, url, stream string) []uuid.UUID {
	t.Helper()
	js := natstest.JetStream(t, url)
	defer js.Conn().Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []uuid.UUID
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		var e audit.Event
		if err := e.UnmarshalJSON(m.Data); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		if got := m.Header.Get(jetstream.MsgIDHeader); got != e.ID.String() {
			t.Errorf("message %d: Nats-Msg-Id %q, want the event ID %s", seq, got, e.ID)
		}
		out = append(out, e.ID)
	}
	return out
}
