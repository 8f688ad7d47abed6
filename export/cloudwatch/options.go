package cloudwatch

import (
	"context"
	"fmt"
	"log"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/settings"
)

// The limits of PutLogEvents that the exporter keeps.
const (
	// MaxBatchEvents is the most events one request may hold.
	MaxBatchEvents = 10000
	// MaxRequestBytes is the most one request may hold, counted as the sum
	// over its events of the message's UTF-8 bytes + [EventOverhead].
	MaxRequestBytes = 1048576
	// EventOverhead is what the service adds to each message's size.
	EventOverhead = 26
	// MaxEventSize is today's per-event limit (message bytes + 26).
	MaxEventSize = 1048576
	// LegacyMaxEventSize is the per-event limit before April 2025.
	LegacyMaxEventSize = 262144
	// MaxAge is how old an event may be: the service rejects older ones.
	MaxAge = 14 * 24 * time.Hour
	// MaxAhead is how far in the future an event may be.
	MaxAhead = 2 * time.Hour
	// MaxSpan is the longest time one request may span. The service allows
	// 24 hours; the exporter keeps a minute below it.
	MaxSpan = 24*time.Hour - time.Minute
)

// API is the part of the cloudwatchlogs client the exporter uses;
// *cloudwatchlogs.Client implements it. The exporter passes an option that
// turns off the client's own retries, because it retries (and counts) itself.
type API interface {
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
}

var _ API = (*cloudwatchlogs.Client)(nil)

// Format is how an event becomes a CloudWatch message.
type Format uint8

// The formats. Both put the event's ID first, so a message delivered twice
// (see the package doc) can be recognised.
const (
	// FormatJSON writes the event's one JSON shape ([audit.Event.MarshalJSON]:
	// "id", "time", "level", "type", "message", "user_id", "session_id",
	// "params", "duration_ms", "stack_trace", "fingerprint"), with the
	// params the block keeps.
	FormatJSON Format = iota
	// FormatText writes one line: "[id] time=... level=... type=... user_id=...
	// session_id=... duration=... msg=... k=v ... stack=... fingerprint=...",
	// values quoted (Go syntax) when they hold spaces, quotes, '=' or
	// anything unprintable, so a line never breaks. Entities are kind:id.
	FormatText
)

// String returns "json" or "text".
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatText:
		return "text"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// Oversize says what happens to an event whose message is larger than the
// per-event limit.
type Oversize uint8

// The ways to handle an oversized event.
const (
	// OversizeTruncate cuts the message at a UTF-8 boundary and ends it with
	// "…[truncated N bytes]". The event ID, first in both formats, is
	// kept; a truncated JSON message is no longer valid JSON.
	OversizeTruncate Oversize = iota
	// OversizeSplit sends the message as several log events with the event's
	// timestamp, in order, each starting with "[id k/n] ", cut at UTF-8
	// boundaries: nothing is lost, and the parts join back by ID.
	OversizeSplit
)

// Params says which of an event's params are exported. The zero value
// exports all of them.
type Params struct {
	none bool
	keys map[string]bool
}

// AllParams exports every param (the zero Params).
func AllParams() Params { return Params{} }

// NoParams exports no params.
func NoParams() Params { return Params{none: true} }

// OnlyParams exports the params with these keys; OnlyParams() is NoParams().
func OnlyParams(keys ...string) Params {
	if len(keys) == 0 {
		return NoParams()
	}
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return Params{keys: m}
}

func (p Params) keep(key string) bool {
	return !p.none && (p.keys == nil || p.keys[key])
}

// Block is one of Datagrok's export blocks: which events it takes and where
// they go. Blocks are matched in order and the first enabled block that
// matches an event takes it, so put specific blocks before general ones.
type Block struct {
	// Name names the block in errors. Default "blocks[i]".
	Name string
	// Disabled turns the block off: it matches nothing (Datagrok's Enabled
	// flag, inverted so the zero Block is on).
	Disabled bool
	// Levels are the levels the block takes. Default: all.
	Levels []audit.Level
	// Types are the record types (Event.Type) the block takes. Default: all.
	Types []string
	// Params says which params go along. Default: all.
	Params Params
	// LogGroup is the log group. Required: 1-512 of [.-_/#A-Za-z0-9], not
	// starting with "aws/". It is created only when a stream's creation
	// says it is missing.
	LogGroup string
	// Streams maps a record type to its log stream ("log": "app_log",
	// "error": "app_errors"). Names are 1-512 characters without ':' or
	// '*'. Streams are created when missing.
	Streams map[string]string
	// DefaultStream is the stream of record types not in Streams. Default
	// "audit".
	DefaultStream string
	// BatchSize is the most events in one request. Default and maximum
	// 10,000; requests are also cut at 1,048,576 bytes and at 24 hours.
	BatchSize int
	// Format is how events are written. Default JSON.
	Format Format
	// Retention is the log group's retention when it is shorter than 14
	// days: older events would be rejected as expired, so they are not
	// sent. Default 14 days.
	Retention time.Duration
	// AWS and Client are the block's own connection (another account,
	// region or role); without them the block uses Options.AWS or
	// Options.Client. Client wins over AWS.
	AWS    *aws.Config
	Client API
}

// Options configures an [Exporter]. The zero value of each field means its
// default; Blocks and a connection are required.
type Options struct {
	// Blocks are the export blocks, matched in order. At least one, unless
	// SettingsBlocks is set.
	Blocks []Block
	// SettingsBlocks, when set, gives the export blocks kept in the
	// settings document: pass a settings Engine's ExportBlocks method, and
	// the exporter follows the document live (file watch, pgsettings). It
	// is called on each Send; the blocks of this exporter's Name
	// (settings.ExportBlock.SinkName) are matched first, in order, then
	// Blocks. The blocks are rebuilt when it returns a different slice
	// than the last time; blocks the exporter cannot use are reported to
	// OnError and the blocks in force stay. They use Options.AWS or
	// Options.Client, which one of must be set.
	SettingsBlocks func() []settings.ExportBlock
	// AWS is the connection: an aws.Config from config.LoadDefaultConfig
	// (the standard credential chain: environment, shared files, SSO, the
	// instance or task role), with an assumed role (stscreds) or with
	// static keys (credentials.NewStaticCredentialsProvider).
	AWS *aws.Config
	// Client is a ready client, used instead of AWS when set.
	Client API
	// MaxEventSize is the per-event limit, message bytes + 26. Default
	// 1,048,576 ([MaxEventSize]); [LegacyMaxEventSize] for the limit before
	// April 2025. At least 1,024.
	MaxEventSize int
	// Oversize is what happens to a larger event. Default [OversizeTruncate].
	Oversize Oversize
	// MaxAttempts bounds the attempts of one call when the service throttles
	// or fails (5xx, connection errors). Default 8.
	MaxAttempts int
	// RetryMin and RetryMax bound the wait between attempts: exponential
	// from RetryMin, capped at RetryMax, with full jitter. Defaults
	// 100ms and 5s.
	RetryMin, RetryMax time.Duration
	// OnError receives each loss as an *[EventsError]: events rejected by
	// the service or before sending (too old, expired, too new) and poison
	// events the service refuses. Send does not return these, because
	// retrying cannot help. It also receives, once per change, the export
	// blocks from SettingsBlocks that the exporter cannot use (not an
	// EventsError: nothing is lost by it). Default: print to the standard
	// logger.
	OnError func(error)
	// Now is the clock that decides which events are too old or too new.
	// Default time.Now.
	Now func() time.Time
	// Name names the sink in the Logger's stats. Default "cloudwatch".
	Name string
}

func (o Options) withDefaults() Options {
	if o.MaxEventSize == 0 {
		o.MaxEventSize = MaxEventSize
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.RetryMin == 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax == 0 {
		o.RetryMax = 5 * time.Second
	}
	if o.OnError == nil {
		o.OnError = func(err error) { log.Print(err) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Name == "" {
		o.Name = "cloudwatch"
	}
	o.Blocks = append([]Block(nil), o.Blocks...)
	for i := range o.Blocks {
		b := &o.Blocks[i]
		if b.Name == "" {
			b.Name = fmt.Sprintf("blocks[%d]", i)
		}
		if b.DefaultStream == "" {
			b.DefaultStream = "audit"
		}
		if b.BatchSize == 0 {
			b.BatchSize = MaxBatchEvents
		}
		if b.Retention == 0 || b.Retention > MaxAge {
			b.Retention = MaxAge
		}
	}
	return o
}

func (o Options) validate() error {
	if len(o.Blocks) == 0 && o.SettingsBlocks == nil {
		return optionError("Blocks", "at least one block is required")
	}
	if o.SettingsBlocks != nil && o.Client == nil && o.AWS == nil {
		return optionError("SettingsBlocks", "%v", errNoConnection)
	}
	if o.MaxEventSize < 1024 || o.MaxEventSize > MaxRequestBytes {
		return optionError("MaxEventSize", "%d is not within [1024, %d]", o.MaxEventSize, MaxRequestBytes)
	}
	if o.Oversize > OversizeSplit {
		return optionError("Oversize", "unknown value %d", o.Oversize)
	}
	if o.MaxAttempts < 1 {
		return optionError("MaxAttempts", "%d is below 1", o.MaxAttempts)
	}
	if o.RetryMin < 0 || o.RetryMax < o.RetryMin {
		return optionError("RetryMin", "want 0 <= RetryMin (%v) <= RetryMax (%v)", o.RetryMin, o.RetryMax)
	}
	for i, b := range o.Blocks {
		field := func(name string) string { return fmt.Sprintf("blocks[%d].%s", i, name) }
		if err := ValidateGroupName(b.LogGroup); err != nil {
			return optionError(field("LogGroup"), "%v", err)
		}
		if err := ValidateStreamName(b.DefaultStream); err != nil {
			return optionError(field("DefaultStream"), "%v", err)
		}
		for typ, s := range b.Streams {
			if err := ValidateStreamName(s); err != nil {
				return optionError(field("Streams["+typ+"]"), "%v", err)
			}
		}
		for _, l := range b.Levels {
			if !l.Valid() {
				return optionError(field("Levels"), "%v", l)
			}
		}
		for k := range b.Params.keys {
			if k == "" {
				return optionError(field("Params"), "an empty key")
			}
		}
		if b.BatchSize < 1 || b.BatchSize > MaxBatchEvents {
			return optionError(field("BatchSize"), "%d is not within [1, %d]", b.BatchSize, MaxBatchEvents)
		}
		if b.Format > FormatText {
			return optionError(field("Format"), "unknown value %d", b.Format)
		}
		if b.Retention < 0 {
			return optionError(field("Retention"), "%v is negative", b.Retention)
		}
		if b.Client == nil && b.AWS == nil && o.Client == nil && o.AWS == nil {
			return optionError(field("AWS"), "no connection: set Options.AWS or Options.Client, or the block's own")
		}
	}
	return nil
}

func optionError(field, format string, args ...any) error {
	return fmt.Errorf("cloudwatch: %s: %s: %w", field, fmt.Sprintf(format, args...), audit.ErrInvalidOptions)
}

var groupNameRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)

// ValidateGroupName reports whether name is a valid log group name: 1-512 of
// [.-_/#A-Za-z0-9], not starting with "aws/".
func ValidateGroupName(name string) error {
	if !groupNameRE.MatchString(name) {
		return fmt.Errorf("log group name %q: want 1-512 of [.-_/#A-Za-z0-9]", name)
	}
	if strings.HasPrefix(name, "aws/") {
		return fmt.Errorf("log group name %q: the prefix aws/ is reserved", name)
	}
	return nil
}

// ValidateStreamName reports whether name is a valid log stream name: 1-512
// characters (valid UTF-8) without ':' or '*'.
func ValidateStreamName(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("log stream name %q: not valid UTF-8", name)
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > 512 {
		return fmt.Errorf("log stream name %q: %d characters, want 1-512", name, n)
	}
	if strings.ContainsAny(name, ":*") {
		return fmt.Errorf("log stream name %q: ':' and '*' are not allowed", name)
	}
	return nil
}
