package cloudwatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
)

// deliver sends a destination's log events in valid requests: in time
// order, each at most BatchSize events, MaxRequestBytes and MaxSpan. It stops
// at the first request that fails (other than by poison events) and returns
// that error, having counted the rest of the destination as failed.
func (x *Exporter) deliver(ctx context.Context, d *dest, out *outcome) error {
	items := d.items
	slices.SortStableFunc(items, func(a, b item) int { return cmp.Compare(a.ts, b.ts) })
	for start := 0; start < len(items); {
		end := packEnd(items, start, d.b.BatchSize)
		if err := x.put(ctx, d, items[start:end], out); err != nil {
			out.fail(items[end:], err)
			return err
		}
		start = end
	}
	return nil
}

// packEnd returns the end of the request that starts at items[start].
func packEnd(items []item, start, batchSize int) int {
	size, first := 0, items[start].ts
	i := start
	for ; i < len(items) && i-start < batchSize; i++ {
		s := len(items[i].msg) + EventOverhead
		if size+s > MaxRequestBytes || time.Duration(items[i].ts-first)*time.Millisecond > MaxSpan {
			break
		}
		size += s
	}
	return i
}

// put sends one request. When the service refuses it as invalid, put finds
// the poison events by bisection, reports them, and delivers the rest.
func (x *Exporter) put(ctx context.Context, d *dest, items []item, out *outcome) error {
	resp, err := x.putRequest(ctx, d, items)
	switch {
	case err == nil:
		x.accept(d, items, resp, out)
		return nil
	case classify(err) == kindInvalid && len(items) == 1:
		x.lose(d, ErrPoison, true, []uuid.UUID{items[0].key.id}, err, out)
		out.settle(items)
		return nil
	case classify(err) == kindInvalid:
		mid := len(items) / 2
		if err := x.put(ctx, d, items[:mid], out); err != nil {
			out.fail(items[mid:], err)
			return err
		}
		return x.put(ctx, d, items[mid:], out)
	}
	out.fail(items, err)
	return err
}

// putRequest makes one PutLogEvents call, retried, creating the stream (and
// the group) when the service says it is missing.
func (x *Exporter) putRequest(ctx context.Context, d *dest, items []item) (*cloudwatchlogs.PutLogEventsOutput, error) {
	in := &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(d.b.LogGroup),
		LogStreamName: aws.String(d.stream),
		LogEvents:     make([]types.InputLogEvent, len(items)),
	}
	for i := range items {
		in.LogEvents[i] = types.InputLogEvent{Timestamp: &items[i].ts, Message: &items[i].msg}
	}
	var resp *cloudwatchlogs.PutLogEventsOutput
	call := func(ctx context.Context) (err error) {
		resp, err = d.b.api.PutLogEvents(ctx, in, noRetry)
		return err
	}
	err := x.retry(ctx, call)
	if classify(err) == kindNotFound {
		if err := x.ensureStream(ctx, d); err != nil {
			return nil, err
		}
		err = x.retry(ctx, call)
	}
	if err != nil {
		return nil, fmt.Errorf("cloudwatch: put log events to %s/%s: %w", d.b.LogGroup, d.stream, err)
	}
	return resp, nil
}

// accept accounts for a request the service answered with 200: the events
// listed in rejectedLogEventsInfo are reported, the others delivered.
func (x *Exporter) accept(d *dest, items []item, resp *cloudwatchlogs.PutLogEventsOutput, out *outcome) {
	n := len(items)
	tooOld, expired, tooNew := 0, 0, n
	if info := resp.RejectedLogEventsInfo; info != nil {
		index := func(p *int32, def int) int {
			if p == nil {
				return def
			}
			return min(max(int(*p), 0), n)
		}
		tooOld = index(info.TooOldLogEventEndIndex, 0)
		expired = max(index(info.ExpiredLogEventEndIndex, 0), tooOld)
		tooNew = max(index(info.TooNewLogEventStartIndex, n), expired)
	}
	ids := func(items []item) []uuid.UUID {
		out := make([]uuid.UUID, len(items))
		for i, it := range items {
			out[i] = it.key.id
		}
		return out
	}
	if tooOld > 0 {
		x.lose(d, ErrTooOld, true, ids(items[:tooOld]), nil, out)
	}
	if expired > tooOld {
		x.lose(d, ErrExpired, true, ids(items[tooOld:expired]), nil, out)
	}
	if tooNew < n {
		x.lose(d, ErrTooNew, true, ids(items[tooNew:]), nil, out)
	}
	size := 0
	for _, it := range items {
		size += len(it.msg) + EventOverhead
	}
	x.c.requests.Add(1)
	x.c.bytes.Add(uint64(size))
	x.c.events.Add(uint64(tooNew - expired))
	out.settle(items)
}

// ensureStream creates the destination's stream, and its group only when
// the stream's creation says the group is missing (a role may be allowed
// the one and not the other).
func (x *Exporter) ensureStream(ctx context.Context, d *dest) error {
	createStream := func(ctx context.Context) error {
		_, err := d.b.api.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
			LogGroupName: aws.String(d.b.LogGroup), LogStreamName: aws.String(d.stream),
		}, noRetry)
		return err
	}
	err := x.retry(ctx, createStream)
	if classify(err) == kindNotFound {
		err = x.retry(ctx, func(ctx context.Context) error {
			_, err := d.b.api.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(d.b.LogGroup)}, noRetry)
			return err
		})
		switch classify(err) {
		case kindOK:
			x.c.groupsCreated.Add(1)
		case kindExists:
		default:
			return fmt.Errorf("cloudwatch: create log group %s: %w", d.b.LogGroup, err)
		}
		err = x.retry(ctx, createStream)
	}
	switch classify(err) {
	case kindOK:
		x.c.streamsCreated.Add(1)
	case kindExists:
	default:
		return fmt.Errorf("cloudwatch: create log stream %s/%s: %w", d.b.LogGroup, d.stream, err)
	}
	return nil
}

// noRetry turns off the SDK's retries for a call: the exporter retries
// itself, with its own bounds, and counts what it does.
func noRetry(o *cloudwatchlogs.Options) { o.Retryer = aws.NopRetryer{} }

// retry calls fn until it succeeds, fails for a reason retrying cannot fix,
// MaxAttempts are spent or ctx ends, waiting an exponential backoff with
// full jitter between attempts.
func (x *Exporter) retry(ctx context.Context, fn func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		k := classify(err)
		if k == kindThrottled {
			x.c.throttles.Add(1)
		}
		if (k != kindTransient && k != kindThrottled) || attempt >= x.opts.MaxAttempts || ctx.Err() != nil {
			return err
		}
		x.c.retries.Add(1)
		wait := x.opts.RetryMin << min(attempt-1, 30)
		if wait > x.opts.RetryMax || wait <= 0 {
			wait = x.opts.RetryMax
		}
		if wait > 0 {
			wait = rand.N(wait + 1)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

type kind int

const (
	kindOK kind = iota
	kindOther
	kindTransient
	kindThrottled
	kindInvalid
	kindNotFound
	kindExists
)

// classify sorts an error of a call by what to do about it. Errors are
// matched by code, not by Go type, as the SDK's generated types change.
func classify(err error) kind {
	if err == nil {
		return kindOK
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return kindOther
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
			return kindThrottled
		case "ServiceUnavailableException", "ServiceUnavailable", "InternalFailure", "InternalServerError", "RequestTimeout", "RequestTimeoutException":
			return kindTransient
		case "InvalidParameterException":
			return kindInvalid
		case "ResourceNotFoundException":
			return kindNotFound
		case "ResourceAlreadyExistsException":
			return kindExists
		}
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 { // 0: no answer
		if re.HTTPStatusCode() >= 500 {
			return kindTransient
		}
		return kindOther
	}
	// No answer from the service: the connection failed or was cut.
	return kindTransient
}

// transient reports whether err is worth trying again later: the service
// throttled or failed past the retries, the connection failed, or ctx ended.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	k := classify(err)
	return k == kindTransient || k == kindThrottled
}

// Stats counts what the exporter did. Counts of events are of log events: an
// event split in n parts counts n times where it is sent, once where it is
// lost.
type Stats struct {
	// Events is the log events the service accepted.
	Events uint64
	// Requests is the PutLogEvents calls answered with success, and Bytes
	// their size as the service counts it (UTF-8 bytes + 26 per event).
	Requests, Bytes uint64
	// Unmatched is the events no enabled block took (not exported, by
	// configuration).
	Unmatched uint64
	// Deduplicated is the log events a Send skipped because an earlier,
	// failed Send of the same batch had delivered (or reported) them.
	Deduplicated uint64
	// TooOld, Expired and TooNew are the events lost for their time, before
	// sending or as listed in rejectedLogEventsInfo.
	TooOld, Expired, TooNew uint64
	// Poison is the events the service refused as invalid on their own.
	Poison uint64
	// Truncated and Split are the events larger than the per-event limit.
	Truncated, Split uint64
	// Failed is the log events Send handed back with an error, to be sent
	// again by the caller.
	Failed uint64
	// Retries is the calls retried; Throttles the throttling answers.
	Retries, Throttles uint64
	// StreamsCreated and GroupsCreated count the exporter's creations.
	StreamsCreated, GroupsCreated uint64
}

type counters struct {
	events, requests, bytes, unmatched, deduplicated          atomic.Uint64
	tooOld, expired, tooNew, poison, truncated, split         atomic.Uint64
	failed, retries, throttles, streamsCreated, groupsCreated atomic.Uint64
}

// Stats returns the exporter's counters.
func (x *Exporter) Stats() Stats {
	c := &x.c
	return Stats{
		Events: c.events.Load(), Requests: c.requests.Load(), Bytes: c.bytes.Load(),
		Unmatched: c.unmatched.Load(), Deduplicated: c.deduplicated.Load(),
		TooOld: c.tooOld.Load(), Expired: c.expired.Load(), TooNew: c.tooNew.Load(),
		Poison: c.poison.Load(), Truncated: c.truncated.Load(), Split: c.split.Load(),
		Failed: c.failed.Load(), Retries: c.retries.Load(), Throttles: c.throttles.Load(),
		StreamsCreated: c.streamsCreated.Load(), GroupsCreated: c.groupsCreated.Load(),
	}
}
