package audit

import (
	"testing"
	"time"
)

// TestQueueAdmitsWaitersInOrder fills a queue, lines up producers, and
// checks that released room goes to them first come first served, and that
// a newcomer does not jump the line.
func TestQueueAdmitsWaitersInOrder(t *testing.T) {
	q := newQueue(2, 1)
	for i := range 2 {
		if !q.push(item{ev: Event{Message: string(rune('a' + i))}}) {
			t.Fatalf("push %d refused below the limit", i)
		}
	}
	var ws []*waiter
	for i := range 3 {
		w, ok := q.wait(item{ev: Event{Message: string(rune('c' + i))}})
		if ok {
			t.Fatalf("waiter %d queued into a full queue", i)
		}
		ws = append(ws, w)
	}
	if !q.cancel(ws[1]) {
		t.Fatal("cancel of a waiting producer reported it admitted")
	}
	taken := q.take(nil)
	if len(taken) != 2 {
		t.Fatalf("took %d items", len(taken))
	}
	q.release(1, func() {}) // room for one: the first waiter, not a newcomer
	if q.push(item{ev: Event{Message: "late"}}) {
		t.Error("a newcomer jumped the line of waiting producers")
	}
	select {
	case <-ws[0].admitted:
	default:
		t.Fatal("first waiter not admitted")
	}
	q.release(1, func() {}) // the second gave up: the third gets the room
	select {
	case <-ws[2].admitted:
	default:
		t.Fatal("third waiter not admitted after the second gave up")
	}
	if q.cancel(ws[2]) {
		t.Error("cancel after admission reported the item not queued")
	}
	var got string
	for _, it := range q.take(nil) {
		got += it.ev.Message
	}
	if got != "ce" {
		t.Errorf("queued %q, want the waiters in order without the one that gave up: \"ce\"", got)
	}
}

// TestBatchSizer checks that batches follow the destination's speed within
// their bounds.
func TestBatchSizer(t *testing.T) {
	s := batchSizer{min: 512, max: 4096, budget: 125 * time.Millisecond}
	if got := s.limit(); got != 512 {
		t.Errorf("before any write: %d, want min", got)
	}
	s.observe(1000, 10*time.Millisecond) // 100k events/s: 12,500 in budget
	if got := s.limit(); got != 4096 {
		t.Errorf("fast store: %d, want max", got)
	}
	for range 20 {
		s.observe(1000, 125*time.Millisecond) // 8k events/s: 1,000 in budget
	}
	if got := s.limit(); got < 990 || got > 1010 {
		t.Errorf("slow store: %d, want about 1000", got)
	}
	for range 20 {
		s.observe(600, time.Second)
	}
	if got := s.limit(); got != 512 {
		t.Errorf("very slow store: %d, want min", got)
	}
	s.observe(1, time.Hour) // a lone event measures the round trip: ignored
	if got := s.limit(); got != 512 {
		t.Errorf("after a lone event: %d", got)
	}
}
