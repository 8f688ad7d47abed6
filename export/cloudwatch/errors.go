package cloudwatch

import (
	"errors"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Why events are lost. An [EventsError] wraps one of them; test with
// [errors.Is].
var (
	// ErrTooOld: the events are older than 14 days.
	ErrTooOld = errors.New("cloudwatch: events older than 14 days")
	// ErrExpired: the events are older than the log group's retention.
	ErrExpired = errors.New("cloudwatch: events older than the log group's retention")
	// ErrTooNew: the events are more than 2 hours in the future.
	ErrTooNew = errors.New("cloudwatch: events more than 2 hours ahead")
	// ErrPoison: the service refuses a request holding the event as
	// invalid, however it is batched.
	ErrPoison = errors.New("cloudwatch: event refused as invalid")
)

// EventsError reports events that will never be delivered, with their IDs.
// The exporter gives one to Options.OnError for each loss.
type EventsError struct {
	// Err is [ErrTooOld], [ErrExpired], [ErrTooNew] or [ErrPoison].
	Err error
	// Sent is false when the exporter held the events back because the
	// service would reject them, true when the service rejected them.
	Sent bool
	// Block, Group and Stream say where the events were going.
	Block, Group, Stream string
	// IDs are the events' IDs.
	IDs []uuid.UUID
	// Cause is the service's answer for a poison event.
	Cause error
}

// Error lists the first IDs, then how many more.
func (e *EventsError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Sent {
		b.WriteString(" (rejected by the service)")
	} else {
		b.WriteString(" (not sent)")
	}
	b.WriteString(": " + e.Block + " " + e.Group + "/" + e.Stream + ": " + strconv.Itoa(len(e.IDs)) + " events:")
	for i, id := range e.IDs {
		if i == 10 {
			b.WriteString(" and " + strconv.Itoa(len(e.IDs)-i) + " more")
			break
		}
		b.WriteString(" " + id.String())
	}
	if e.Cause != nil {
		b.WriteString(": " + e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns Err and Cause.
func (e *EventsError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}
