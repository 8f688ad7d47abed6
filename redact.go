package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// What a redacted value becomes.
const (
	// RedactedMarker replaces a redacted value when [Redact] has no HMACKey.
	RedactedMarker = "[REDACTED]"
	// HMACPrefix starts a value redacted under [Redact].HMACKey: the value
	// is replaced by "hmac-sha256:" and the hex HMAC-SHA256 of its text under
	// the key, so equal values still correlate and a known value can be
	// searched for (auditctl hash prints the same text).
	HMACPrefix = "hmac-sha256:"
)

// DefaultRedactKeys are the key fragments redacted when [Redact].Keys is nil.
// They are matched as in Keys: password, passwd, secret, token,
// authorization, api_key (and apikey, api-key, ApiKey), cookie (and
// set-cookie) and private_key.
var DefaultRedactKeys = []string{
	"password", "passwd", "secret", "token", "authorization",
	"apikey", "cookie", "privatekey",
}

// Redact says which param values the [Logger] replaces before any
// destination (printer, spool, store, sinks) sees the event. The zero value
// redacts the [DefaultRedactKeys] with [RedactedMarker].
//
// A param is redacted when its key matches, or when its value was made with
// [Secret]; a redacted value becomes a string, whatever its kind. Inside JSON values (maps, slices and structs logged as params),
// every object member whose name matches is redacted, at any depth; a JSON
// value too deeply nested to walk (over 10,000 levels) that may hold such a
// member is redacted whole.
// Callbacks run before redaction and see the values as given; the message
// and stack trace are never redacted.
type Redact struct {
	// Off turns key matching off. Values made with [Secret] are redacted
	// even then.
	Off bool
	// Keys are fragments of keys to redact: a key matches when, lowercased
	// (ASCII letters) and with '-' and '_' removed, it contains a fragment (lowercased and
	// with '-' and '_' removed likewise). Nil means [DefaultRedactKeys];
	// an empty non-nil slice means none.
	Keys []string
	// Patterns are regular expressions matched against the key as given
	// (anywhere in it, unless anchored with ^ and $), in addition to Keys.
	Patterns []*regexp.Regexp
	// HMACKey, when set, makes a redacted value "hmac-sha256:<hex>" (see
	// [HMACPrefix]) instead of [RedactedMarker], as Vault's audit devices
	// do, so equal values still correlate; `auditctl hash` prints the text
	// to search for. Keep it as secret as the values: with it, anyone can
	// test a guess against a redacted value.
	HMACKey []byte
}

// secretMark marks a Value made with Secret. It sits in Value.aux, which
// only entities use otherwise, and Secret never makes an entity.
const secretMark = "\x00secret"

// Secret returns [AnyValue](v) marked to be redacted by the Logger whatever
// its key, e.g. map[string]any{"card": audit.Secret(number)}. An entity
// becomes its ID, a string.
func Secret(v any) Value {
	x := AnyValue(v)
	if x.kind == KindEntity {
		x = StringValue(x.str)
	}
	x.aux = secretMark
	return x
}

// SecretString returns the Param key = s, redacted by the Logger whatever
// the key (see [Secret]).
func SecretString(key, s string) Param {
	return Param{Key: key, Value: Value{kind: KindString, str: s, aux: secretMark}}
}

// IsSecret reports whether v was made with [Secret] and is still to be
// redacted.
func (v Value) IsSecret() bool { return v.aux == secretMark }

// RedactHMAC returns the text that replaces value under key: "hmac-sha256:"
// and the hex HMAC-SHA256 of value. A param's value is hashed as stored
// (see [Value.String]); a member nested in a JSON value is hashed as its
// string when it is a JSON string, as its JSON text otherwise.
func RedactHMAC(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	var sum [sha256.Size]byte
	return HMACPrefix + hex.EncodeToString(m.Sum(sum[:0]))
}

// redactor is a compiled Redact.
type redactor struct {
	keys     [][]byte      // normalized fragments
	byFirst  [256][][]byte // keys by their first byte
	patterns []*regexp.Regexp
	hmacKey  []byte
	macs     sync.Pool // of hash.Hash: HMAC-SHA256 under hmacKey
}

func newRedactor(r Redact) *redactor {
	key := bytes.Clone(r.HMACKey) // the caller may reuse its slice
	c := &redactor{patterns: r.Patterns, hmacKey: key}
	c.macs.New = func() any { return hmac.New(sha256.New, key) }
	if r.Off {
		c.patterns = nil
		return c
	}
	keys := r.Keys
	if keys == nil {
		keys = DefaultRedactKeys
	}
	for _, k := range keys {
		if n := normalizeKey(nil, k); len(n) > 0 {
			c.keys = append(c.keys, n)
			c.byFirst[n[0]] = append(c.byFirst[n[0]], n)
		}
	}
	return c
}

// normalizeKey appends k to dst lowercased (ASCII) without '-' and '_'.
func normalizeKey(dst []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		b := k[i]
		switch {
		case b == '-' || b == '_':
			continue
		case 'A' <= b && b <= 'Z':
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	return dst
}

// matchKey reports whether the key is to be redacted. Keys up to 64 bytes
// are normalized on the stack.
func (r *redactor) matchKey(key string) bool {
	if len(r.keys) > 0 {
		var buf [64]byte
		var n []byte
		if len(key) <= len(buf) {
			n = normalizeKey(buf[:0], key)
		} else {
			n = normalizeKey(make([]byte, 0, len(key)), key)
		}
		if r.containsKey(n) {
			return true
		}
	}
	for _, p := range r.patterns {
		if p.MatchString(key) {
			return true
		}
	}
	return false
}

// containsKey reports whether the normalized text n contains a fragment. It
// compares fragments only where n has one of their first bytes.
func (r *redactor) containsKey(n []byte) bool {
	for i, b := range n {
		for _, k := range r.byFirst[b] {
			if bytes.HasPrefix(n[i:], k) {
				return true
			}
		}
	}
	return false
}

func (r *redactor) replace(text string) string {
	if len(r.hmacKey) == 0 {
		return RedactedMarker
	}
	m := r.macs.Get().(hash.Hash)
	m.Reset()
	io.WriteString(m, text)
	var buf [len(HMACPrefix) + 2*sha256.Size]byte
	copy(buf[:], HMACPrefix)
	var sum [sha256.Size]byte
	hex.Encode(buf[len(HMACPrefix):], m.Sum(sum[:0]))
	r.macs.Put(m)
	return string(buf[:])
}

// params redacts ps in place. It allocates nothing when nothing matches
// and no param holds JSON that may hold a matching member.
func (r *redactor) params(ps []Param) {
	for i := range ps {
		p := &ps[i]
		if p.Value.aux == secretMark || r.matchKey(p.Key) {
			p.Value = StringValue(r.replace(p.Value.String()))
			continue
		}
		if p.Value.kind == KindJSON && r.mayMatchJSON(p.Value.str) {
			if s, err := r.json(p.Value.str); err != nil {
				// Too deep to walk: redacted whole rather than risk a leak.
				p.Value = StringValue(r.replace(p.Value.str))
			} else if s != p.Value.str {
				p.Value = Value{kind: KindJSON, str: s}
			}
		}
	}
}

var normPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// mayMatchJSON reports whether raw may hold a member to redact: always with
// patterns or escapes (an escaped name hides its letters), otherwise only
// when the normalized text contains a fragment.
func (r *redactor) mayMatchJSON(raw string) bool {
	if len(r.patterns) > 0 || strings.IndexByte(raw, '\\') >= 0 {
		return true
	}
	if len(r.keys) == 0 {
		return false
	}
	bp := normPool.Get().(*[]byte)
	n := normalizeKey((*bp)[:0], raw)
	found := r.containsKey(n)
	if cap(n) <= 64<<10 {
		*bp = n[:0]
		normPool.Put(bp)
	}
	return found
}

// json returns raw with its matching members redacted (raw itself when
// none is), or an error when raw cannot be walked (nested deeper than
// encoding/json allows). Numbers keep their text.
func (r *redactor) json(raw string) (string, error) {
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	v, changed := r.walk(v)
	if !changed {
		return raw, nil
	}
	out, err := marshalJSON(v)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func (r *redactor) walk(v any) (any, bool) {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, m := range x {
			if r.matchKey(k) {
				x[k] = r.replace(jsonText(m))
				changed = true
				continue
			}
			if m2, c := r.walk(m); c {
				x[k] = m2
				changed = true
			}
		}
	case []any:
		for i, m := range x {
			if m2, c := r.walk(m); c {
				x[i] = m2
				changed = true
			}
		}
	}
	return v, changed
}

// jsonText is the text hashed for a nested member: a string as is, anything
// else as its JSON.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	raw, err := marshalJSON(v)
	if err != nil {
		return ""
	}
	return string(raw)
}

// SetRedact makes r the redaction rule of the Logger and of every Logger
// derived from it, from the next event on, in place of Options.Redact (or
// of the rule set before). An r without HMACKey keeps the HMACKey of
// Options.Redact: the key belongs in code or a secret manager, not in
// settings. It is safe to call while logging: each event is redacted
// whole by one rule, the one in force when it is logged. It fails, keeping
// the rule in force, with an error wrapping [ErrInvalidOptions] when a
// pattern is nil.
//
// To follow the redaction block of a settings engine, call it with the
// engine's Redact on each change (settings.Options.OnChange).
func (l *Logger) SetRedact(r Redact) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if r.HMACKey == nil {
		r.HMACKey = l.c.opts.Redact.HMACKey
	}
	r.Patterns = slices.Clone(r.Patterns) // the caller may reuse its slice
	l.c.redact.Store(newRedactor(r))
	return nil
}

// validate refuses a nil pattern, which would fail at the first event.
func (r Redact) validate() error {
	for i, p := range r.Patterns {
		if p == nil {
			return fmt.Errorf("%w: Redact.Patterns[%d] is nil", ErrInvalidOptions, i)
		}
	}
	return nil
}
