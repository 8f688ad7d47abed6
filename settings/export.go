package settings

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/auditkit/audit"
)

// ExportBlock is one of Datagrok's export blocks, kept in the settings
// document so that operators edit it like the rest: which events go to an
// exporter's destination, and how. An exporter that follows the settings
// (cloudwatch.Options.SettingsBlocks) matches the blocks of its sink in
// order, and the first enabled block that matches an event takes it, so
// specific blocks go before general ones. Connections and credentials are
// not part of the document: blocks use the exporter's own connection.
//
// In JSON:
//
//	{"name": "errors", "sink": "cloudwatch", "enabled": true,
//	 "levels": ["error"], "types": ["error", "function-call"],
//	 "params": ["route", "status"], "log_group": "/app/audit",
//	 "streams": {"log": "app_log", "error": "app_errors"},
//	 "default_stream": "audit", "batch_size": 500, "format": "text"}
type ExportBlock struct {
	// Name names the block in errors and explanations. Optional; when set,
	// it is unique among the blocks of its sink.
	Name string
	// Sink names the exporter that takes the block, by the exporter's name
	// (for CloudWatch, its Options.Name). Default "cloudwatch".
	Sink string
	// Disabled turns the block off: it takes nothing. In JSON it is
	// "enabled" (default true), Datagrok's name.
	Disabled bool
	// Levels are the levels the block takes. Default (nil or empty): all.
	Levels []audit.Level
	// Types are the record types the block takes. Default (nil or empty):
	// all.
	Types []string
	// Params are the keys of the params that go along: nil (JSON null or
	// absent) for all of them, empty (JSON []) for none.
	Params []string
	// LogGroup is the destination's group: a CloudWatch log group, 1-512
	// of [.-_/#A-Za-z0-9], not starting with "aws/". Required.
	LogGroup string
	// Streams maps a record type to its stream ("log": "app_log"). Stream
	// names are 1-512 characters without ':' or '*'.
	Streams map[string]string
	// DefaultStream is the stream of the record types not in Streams.
	// Default: the exporter's ("audit" for CloudWatch).
	DefaultStream string
	// BatchSize is the most events in one request, 1 to 10,000. Default
	// (0): the exporter's, 10,000 for CloudWatch.
	BatchSize int
	// Format is how events are written: "json" (the default, also "") or
	// "text".
	Format string
}

// DefaultSink is the sink of an [ExportBlock] whose Sink is empty.
const DefaultSink = "cloudwatch"

// The limits of an [ExportBlock], those of CloudWatch Logs.
const (
	maxBatchSize = 10000
	maxNameRunes = 512
)

var logGroupRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)

// exportBlockJSON is the JSON shape of an ExportBlock.
type exportBlockJSON struct {
	Name          string            `json:"name,omitempty"`
	Sink          string            `json:"sink,omitempty"`
	Enabled       bool              `json:"enabled"`
	Levels        []audit.Level     `json:"levels,omitempty"`
	Types         []string          `json:"types,omitempty"`
	Params        []string          `json:"params"`
	LogGroup      string            `json:"log_group"`
	Streams       map[string]string `json:"streams,omitempty"`
	DefaultStream string            `json:"default_stream,omitempty"`
	BatchSize     int               `json:"batch_size,omitempty"`
	Format        string            `json:"format,omitempty"`
}

// MarshalJSON writes the block in the format [Parse] reads.
func (b ExportBlock) MarshalJSON() ([]byte, error) {
	return json.Marshal(exportBlockJSON{
		Name: b.Name, Sink: b.Sink, Enabled: !b.Disabled, Levels: b.Levels, Types: b.Types,
		Params: b.Params, LogGroup: b.LogGroup, Streams: b.Streams, DefaultStream: b.DefaultStream,
		BatchSize: b.BatchSize, Format: b.Format,
	})
}

// SinkName returns the block's sink: Sink, or [DefaultSink] when empty.
func (b *ExportBlock) SinkName() string {
	if b.Sink == "" {
		return DefaultSink
	}
	return b.Sink
}

func (b ExportBlock) clone() ExportBlock {
	b.Levels, b.Types, b.Params = slices.Clone(b.Levels), slices.Clone(b.Types), slices.Clone(b.Params)
	b.Streams = maps.Clone(b.Streams)
	return b
}

func (b *ExportBlock) validate(at string) []*FieldError {
	var errs []*FieldError
	add := func(path, format string, args ...any) { errs = append(errs, fieldErr(path, format, args...)) }
	if !utf8.ValidString(b.Name) || strings.ContainsFunc(b.Name, isControl) {
		add(at+".name", "%q holds invalid UTF-8 or control characters", b.Name)
	}
	if !utf8.ValidString(b.Sink) || strings.ContainsFunc(b.Sink, isControl) {
		add(at+".sink", "%q holds invalid UTF-8 or control characters", b.Sink)
	}
	for i, l := range b.Levels {
		if !l.Valid() {
			add(fmt.Sprintf("%s.levels[%d]", at, i), "invalid level %d", uint8(l))
		}
	}
	for i, t := range b.Types {
		if t == "" {
			add(fmt.Sprintf("%s.types[%d]", at, i), "empty record type")
		}
	}
	for i, k := range b.Params {
		if k == "" {
			add(fmt.Sprintf("%s.params[%d]", at, i), "empty param key")
		}
	}
	switch {
	case b.LogGroup == "":
		add(at+".log_group", "required: a log group name, 1-512 of [.-_/#A-Za-z0-9]")
	case !logGroupRE.MatchString(b.LogGroup):
		add(at+".log_group", "%q: want 1-512 of [.-_/#A-Za-z0-9]", b.LogGroup)
	case strings.HasPrefix(b.LogGroup, "aws/"):
		add(at+".log_group", "%q: the prefix aws/ is reserved", b.LogGroup)
	}
	for _, typ := range slices.Sorted(maps.Keys(b.Streams)) {
		path := fmt.Sprintf("%s.streams[%q]", at, typ)
		if typ == "" {
			add(path, "empty record type")
		}
		if reason := streamNameProblem(b.Streams[typ]); reason != "" {
			add(path, "%s", reason)
		}
	}
	if b.DefaultStream != "" {
		if reason := streamNameProblem(b.DefaultStream); reason != "" {
			add(at+".default_stream", "%s", reason)
		}
	}
	if b.BatchSize < 0 || b.BatchSize > maxBatchSize {
		add(at+".batch_size", "%d is not within [1, %d] (0 for the default)", b.BatchSize, maxBatchSize)
	}
	switch b.Format {
	case "", "json", "text":
	default:
		add(at+".format", "unknown format %q: want json or text", b.Format)
	}
	return errs
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// streamNameProblem says what is wrong with a stream name; "" if nothing.
func streamNameProblem(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return fmt.Sprintf("stream name %q is not valid UTF-8", name)
	case n < 1 || n > maxNameRunes:
		return fmt.Sprintf("stream name %q: %d characters, want 1-%d", name, n, maxNameRunes)
	case strings.ContainsAny(name, ":*"):
		return fmt.Sprintf("stream name %q: ':' and '*' are not allowed", name)
	}
	return ""
}

// validateExports checks each block, and that named blocks of one sink have
// distinct names.
func validateExports(blocks []ExportBlock) []*FieldError {
	var errs []*FieldError
	type key struct{ sink, name string }
	seen := map[key]int{}
	for i := range blocks {
		b := &blocks[i]
		at := fmt.Sprintf("exports[%d]", i)
		errs = append(errs, b.validate(at)...)
		if b.Name == "" {
			continue
		}
		k := key{b.SinkName(), b.Name}
		if j, ok := seen[k]; ok {
			errs = append(errs, fieldErr(at+".name", "%q is also the name of exports[%d] of sink %s", b.Name, j, k.sink))
			continue
		}
		seen[k] = i
	}
	return errs
}

// ExportBlocks returns the export blocks of the policy in force, in order.
// The slice is shared and must not be modified; it stays the same slice
// until the policy changes ([Engine.Set], a reload), so a caller can tell a
// change by comparing it with the last one it saw (its first element's
// address and its length).
func (e *Engine) ExportBlocks() []ExportBlock { return e.state.Load().policy.Exports }
