package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Store persists events. It is the write contract every store implements
// (store/postgres, store/sqlite, store/memory); the conformance suite in
// store/storetest checks it.
type Store interface {
	// Write stores the batch atomically (all events or none) and idempotently
	// on Event.ID: writing an event whose ID is already stored leaves the
	// stored one unchanged and is not an error, so a batch retried after any
	// failure stores each event exactly once. Write must be safe for
	// concurrent use and must honour ctx. Events have an ID, a non-zero Time
	// and a valid Level, and their params unique keys; a store refuses others
	// with [ErrInvalidEvent] (and then writes none of the batch). Stores keep
	// Time in UTC truncated to microseconds (the resolution of cursors and of
	// the SQL stores) and every other field byte for byte, including strings
	// that are not valid UTF-8 or contain NUL bytes (see [Text]). Empty
	// strings stay empty strings (not NULL), so a filter on "" finds events
	// without a user or session.
	Write(ctx context.Context, events []Event) error
}

// Reader reads events back. Stores that can be queried implement it.
type Reader interface {
	// Read returns the events that match q, newest first (by Time, then ID,
	// both descending), at most q.Limit of them, and a cursor for the next
	// page.
	Read(ctx context.Context, q Query) (Page, error)
}

// Query filters events for [Reader.Read]. Zero fields do not filter.
type Query struct {
	// Since (inclusive) and Until (exclusive) bound Event.Time.
	Since, Until time.Time
	// Levels and Types keep events whose level or type is in the list.
	Levels []Level
	Types  []string
	// UserIDs and SessionIDs keep events of those users or sessions; the
	// empty string matches events without one.
	UserIDs    []string
	SessionIDs []string
	// Object keeps events with a param that references this object. The ID
	// must match; the Kind must match too when it is not empty.
	Object *Entity
	// Limit is the page size: default 100, at most 10,000.
	Limit int
	// After continues a listing: pass the previous [Page.Next].
	After string
}

// Default and maximum page sizes of [Query.Limit].
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// PageSize returns q.Limit clamped to [1, MaxLimit], DefaultLimit when unset.
func (q *Query) PageSize() int {
	switch {
	case q.Limit <= 0:
		return DefaultLimit
	case q.Limit > MaxLimit:
		return MaxLimit
	}
	return q.Limit
}

// Matches reports whether e passes every filter of q, cursor included. It is
// the reference semantics of a query; the in-memory store uses it as is.
func (q *Query) Matches(e *Event) (bool, error) {
	if !q.Since.IsZero() && e.Time.Before(q.Since) {
		return false, nil
	}
	if !q.Until.IsZero() && !e.Time.Before(q.Until) {
		return false, nil
	}
	if len(q.Levels) > 0 && !slices.Contains(q.Levels, e.Level) {
		return false, nil
	}
	if len(q.Types) > 0 && !slices.Contains(q.Types, e.Type) {
		return false, nil
	}
	if len(q.UserIDs) > 0 && !slices.Contains(q.UserIDs, e.UserID) {
		return false, nil
	}
	if len(q.SessionIDs) > 0 && !slices.Contains(q.SessionIDs, e.SessionID) {
		return false, nil
	}
	if q.Object != nil && !references(e, *q.Object) {
		return false, nil
	}
	if q.After != "" {
		t, id, err := DecodeCursor(q.After)
		if err != nil {
			return false, err
		}
		// Newest first: the next page holds strictly older (time, id) pairs.
		if c := e.Time.Compare(t); c > 0 || (c == 0 && bytes.Compare(e.ID[:], id[:]) >= 0) {
			return false, nil
		}
	}
	return true, nil
}

func references(e *Event, obj Entity) bool {
	for _, p := range e.Params {
		if ent, ok := p.Value.Entity(); ok && ent.ID == obj.ID && (obj.Kind == "" || obj.Kind == ent.Kind) {
			return true
		}
	}
	return false
}

// NewestFirst orders events as [Reader.Read] returns them: by Time, then ID,
// both descending. Use it with [slices.SortFunc].
func NewestFirst(a, b Event) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	return bytes.Compare(b.ID[:], a.ID[:]) // for UUIDv7, time order
}

// Page is one page of a [Reader.Read] listing.
type Page struct {
	// Events are newest first.
	Events []Event
	// Next is the cursor of the following page for [Query.After]; empty when
	// this page is the last.
	Next string
}

// EncodeCursor makes the keyset cursor that continues a listing after the
// event with the given time and id. Stores use it to fill [Page.Next].
func EncodeCursor(t time.Time, id uuid.UUID) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMicro()))
	copy(b[8:], id[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// DecodeCursor is the inverse of [EncodeCursor]. It returns an error wrapping
// [ErrInvalidCursor] for any string EncodeCursor did not make.
func DecodeCursor(s string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 24 {
		return time.Time{}, uuid.UUID{}, fmt.Errorf("%w: %q", ErrInvalidCursor, s)
	}
	var id uuid.UUID
	copy(id[:], b[8:])
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))).UTC(), id, nil
}
