package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/auditkit/audit"
)

// Parse reads a policy from JSON (the format of [Config]'s JSON tags, shown
// in the package documentation) and validates it. Field names are exact,
// unknown fields are refused, levels are named ("debug", "warning", ...),
// times are RFC 3339. The error names every bad field: see [FieldError].
func Parse(data []byte) (Config, error) {
	if t := bytes.TrimSpace(data); bytes.Equal(t, []byte("null")) {
		return Config{}, fieldErr("", "want a JSON object, got null")
	}
	var p Config
	if err := p.UnmarshalJSON(data); err != nil {
		return Config{}, err
	}
	if err := p.Validate(); err != nil {
		return Config{}, err
	}
	return p, nil
}

// Load reads and parses the policy file at path; see [Parse].
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("settings: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// UnmarshalJSON decodes a policy as [Parse] does, without validating it:
// call [Config.Validate] (an [Engine] does). JSON null leaves p unchanged.
func (p *Config) UnmarshalJSON(data []byte) error {
	var out Config
	d := &decoder{data: data}
	if !d.object(data, "", func(key string, v json.RawMessage, at string) bool {
		switch key {
		case "version":
			d.value(v, at, &out.Version, "an integer")
		case "levels":
			d.levels(v, at, &out.Levels)
		case "rules":
			d.rules(v, at, &out.Rules)
		case "groups":
			out.Groups = d.groups(v, at)
		case "exports":
			out.Exports = d.exports(v, at)
		case "retention":
			out.Retention = d.retention(v, at)
		case "redact":
			d.object(v, at, func(k string, v json.RawMessage, at string) bool {
				switch k {
				case "keys":
					out.Redact.Keys = d.strings(v, at)
				case "patterns":
					out.Redact.Patterns = d.strings(v, at)
				default:
					return false
				}
				return true
			})
		default:
			return false
		}
		return true
	}) {
		if len(d.errs) == 0 {
			return nil // null
		}
	}
	if err := errors.Join(d.errs...); err != nil {
		return err
	}
	*p = out
	return nil
}

// decoder decodes JSON field by field, so that each error names its field.
type decoder struct {
	data []byte // the whole document, to locate syntax errors
	errs []error
}

func (d *decoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, fieldErr(path, format, args...))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object decodes raw as an object and calls field for each key, in key
// order; field returns false for an unknown key. It returns false when raw
// is null or not an object.
func (d *decoder) object(raw json.RawMessage, path string, field func(key string, v json.RawMessage, at string) bool) bool {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		d.jsonErr(path, err, "an object")
		return false
	}
	if m == nil {
		return false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !field(k, m[k], join(path, k)) {
			d.fail(join(path, k), "unknown field")
		}
	}
	return true
}

// list decodes raw as an array and returns its elements; nil for null.
func (d *decoder) list(raw json.RawMessage, path string) ([]json.RawMessage, bool) {
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		d.jsonErr(path, err, "a list")
		return nil, false
	}
	return l, true
}

func (d *decoder) value(raw json.RawMessage, path string, v any, want string) {
	if err := json.Unmarshal(raw, v); err != nil {
		d.jsonErr(path, err, want)
	}
}

// jsonErr records err, which encoding/json returned for the value at path.
func (d *decoder) jsonErr(path string, err error, want string) {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		// Only the whole document is checked for syntax (json.Unmarshal
		// validates before decoding), so the offset is the document's.
		line, col := position(d.data, syn.Offset)
		d.fail("", "line %d, column %d: %v", line, col, syn)
		return
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		d.fail(path, "want %s, got a JSON %s", want, typ.Value)
		return
	}
	d.fail(path, "want %s: %v", want, err)
}

// position returns the 1-based line and column of the byte at offset.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

func (d *decoder) levels(raw json.RawMessage, path string, out *Levels) {
	d.object(raw, path, func(key string, v json.RawMessage, at string) bool {
		switch key {
		case "store":
			out.Store = d.levelList(v, at, true)
		case "export":
			out.Export = d.levelList(v, at, true)
		case "print":
			out.Print = d.levelList(v, at, true)
		default:
			return false
		}
		return true
	})
}

// levelList decodes a list of level names. With keepEmpty, [] is an empty
// non-nil list (no level) and null is nil (the default); else both are nil.
func (d *decoder) levelList(raw json.RawMessage, path string, keepEmpty bool) []audit.Level {
	elems, ok := d.list(raw, path)
	if !ok || elems == nil || (len(elems) == 0 && !keepEmpty) {
		return nil
	}
	out := make([]audit.Level, 0, len(elems))
	for i, e := range elems {
		at := fmt.Sprintf("%s[%d]", path, i)
		var name string
		if err := json.Unmarshal(e, &name); err != nil {
			d.jsonErr(at, err, "a level name")
			continue
		}
		l, err := audit.ParseLevel(name)
		if err != nil {
			d.fail(at, "unknown level %q: want one of debug, info, warning, error, audit, usage", name)
			continue
		}
		out = append(out, l)
	}
	return out
}

func (d *decoder) strings(raw json.RawMessage, path string) []string {
	elems, ok := d.list(raw, path)
	if !ok || len(elems) == 0 {
		return nil
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		var s string
		d.value(e, fmt.Sprintf("%s[%d]", path, i), &s, "a string")
		out = append(out, s)
	}
	return out
}

func (d *decoder) rules(raw json.RawMessage, path string, out *[]Rule) {
	elems, ok := d.list(raw, path)
	if !ok || elems == nil {
		return
	}
	rules := make([]Rule, len(elems))
	for i, e := range elems {
		at := fmt.Sprintf("%s[%d]", path, i)
		if !d.object(e, at, func(key string, v json.RawMessage, at string) bool {
			return d.ruleField(&rules[i], key, v, at)
		}) && bytes.Equal(bytes.TrimSpace(e), []byte("null")) {
			d.fail(at, "want an object, got null")
		}
	}
	*out = rules
}

func (d *decoder) ruleField(r *Rule, key string, v json.RawMessage, at string) bool {
	switch key {
	case "scope":
		d.value(v, at, &r.Scope, "a string")
	case "id":
		d.value(v, at, &r.ID, "a string")
	case "preset":
		d.value(v, at, &r.Preset, "a string")
	case "add":
		r.Add = d.strings(v, at)
	case "remove":
		r.Remove = d.strings(v, at)
	case "add_levels":
		r.AddLevels = d.levelList(v, at, false)
	case "remove_levels":
		r.RemoveLevels = d.levelList(v, at, false)
	case "expires":
		var s *string
		d.value(v, at, &s, "an RFC 3339 time")
		if s == nil {
			break
		}
		t, err := time.Parse(time.RFC3339Nano, *s)
		if err != nil {
			d.fail(at, "want an RFC 3339 time such as \"2025-01-02T15:04:05Z\", got %q", *s)
			break
		}
		r.Expires = t.UTC()
	case "comment":
		d.value(v, at, &r.Comment, "a string")
	default:
		return false
	}
	return true
}

// groups decodes the group nesting: an object of lists of group names. An
// empty object is nil.
func (d *decoder) groups(raw json.RawMessage, path string) map[string][]string {
	var out map[string][]string
	d.object(raw, path, func(key string, v json.RawMessage, at string) bool {
		if out == nil {
			out = map[string][]string{}
		}
		out[key] = d.strings(v, fmt.Sprintf("%s[%q]", path, key))
		return true
	})
	return out
}

// exports decodes the export blocks; nil for null or [].
func (d *decoder) exports(raw json.RawMessage, path string) []ExportBlock {
	elems, ok := d.list(raw, path)
	if !ok || len(elems) == 0 {
		return nil
	}
	blocks := make([]ExportBlock, len(elems))
	for i, e := range elems {
		at := fmt.Sprintf("%s[%d]", path, i)
		if !d.object(e, at, func(key string, v json.RawMessage, at string) bool {
			return d.exportField(&blocks[i], key, v, at)
		}) && bytes.Equal(bytes.TrimSpace(e), []byte("null")) {
			d.fail(at, "want an object, got null")
		}
	}
	return blocks
}

func (d *decoder) exportField(b *ExportBlock, key string, v json.RawMessage, at string) bool {
	switch key {
	case "name":
		d.value(v, at, &b.Name, "a string")
	case "sink":
		d.value(v, at, &b.Sink, "a string")
	case "enabled":
		var on *bool
		d.value(v, at, &on, "true or false")
		b.Disabled = on != nil && !*on
	case "levels":
		b.Levels = d.levelList(v, at, false)
	case "types":
		b.Types = d.strings(v, at)
	case "params":
		// null is every param, [] none.
		if elems, ok := d.list(v, at); ok && elems != nil {
			b.Params = d.strings(v, at)
			if b.Params == nil {
				b.Params = []string{}
			}
		}
	case "log_group":
		d.value(v, at, &b.LogGroup, "a string")
	case "streams":
		var m map[string]string
		d.value(v, at, &m, "an object of stream names by record type")
		if len(m) > 0 {
			b.Streams = m
		}
	case "default_stream":
		d.value(v, at, &b.DefaultStream, "a string")
	case "batch_size":
		d.value(v, at, &b.BatchSize, "an integer")
	case "format":
		d.value(v, at, &b.Format, "a string")
	default:
		return false
	}
	return true
}
