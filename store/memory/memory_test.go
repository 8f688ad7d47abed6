package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/memory"
	"github.com/auditkit/audit/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s := memory.New(memory.Options{})
		t.Cleanup(func() { s.Close(context.Background()) })
		return s
	})
}

func TestLen(t *testing.T) {
	s := memory.New(memory.Options{})
	if n := s.Len(); n != 0 {
		t.Fatalf("new store: Len = %d, want 0", n)
	}
	a, b := storetest.NewEvent("a"), storetest.NewEvent("b")
	for _, batch := range [][]audit.Event{{a, b}, {a}} {
		if err := s.Write(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
}

func TestClose(t *testing.T) {
	s := memory.New(memory.Options{})
	if err := s.Write(t.Context(), []audit.Event{storetest.NewEvent("a")}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := s.Close(t.Context()); err != nil {
			t.Fatalf("Close = %v", err)
		}
	}
	if err := s.Write(t.Context(), []audit.Event{storetest.NewEvent("b")}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Write after Close = %v, want audit.ErrClosed", err)
	}
	if _, err := s.Read(t.Context(), audit.Query{}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Read after Close = %v, want audit.ErrClosed", err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len after Close = %d, want 0", n)
	}
}

func TestCanceledContext(t *testing.T) {
	s := memory.New(memory.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Write(ctx, []audit.Event{storetest.NewEvent("a")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Write = %v, want context.Canceled", err)
	}
	if _, err := s.Read(ctx, audit.Query{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Read = %v, want context.Canceled", err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
}
