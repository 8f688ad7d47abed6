package audit

import (
	"strconv"
	"time"
)

// String returns the Param key = s, a string.
func String(key, s string) Param { return Param{Key: key, Value: StringValue(s)} }

// Int returns the Param key = n, an int64.
func Int(key string, n int) Param { return Param{Key: key, Value: Int64Value(int64(n))} }

// Int64 returns the Param key = n.
func Int64(key string, n int64) Param { return Param{Key: key, Value: Int64Value(n)} }

// Uint64 returns the Param key = n.
func Uint64(key string, n uint64) Param { return Param{Key: key, Value: Uint64Value(n)} }

// Float64 returns the Param key = f.
func Float64(key string, f float64) Param { return Param{Key: key, Value: Float64Value(f)} }

// Bool returns the Param key = b.
func Bool(key string, b bool) Param { return Param{Key: key, Value: BoolValue(b)} }

// Time returns the Param key = t, in UTC.
func Time(key string, t time.Time) Param { return Param{Key: key, Value: TimeValue(t)} }

// Duration returns the Param key = d.
func Duration(key string, d time.Duration) Param { return Param{Key: key, Value: DurationValue(d)} }

// Object returns the Param key = a reference to the object of the given kind
// and id (an [Entity]), which makes the event part of the object's activity.
func Object(key, kind, id string) Param {
	return Param{Key: key, Value: Value{kind: KindEntity, str: id, aux: kind}}
}

// Any returns the Param key = [AnyValue](v).
func Any(key string, v any) Param { return Param{Key: key, Value: AnyValue(v)} }

// P is short for [Any].
func P(key string, value any) Param { return Param{Key: key, Value: AnyValue(value)} }

// args are the arguments of a logging call after the message. str, the
// first string, is kept apart from list: escape analysis does not tell a
// struct's fields apart, and str flows into the event while list must not
// escape (see [Logger.Log] and strayValue).
type args struct {
	list  []any
	n     int  // params in all: maps', Params and stray arguments
	noStr bool // every string is a stray argument
}

// scanArgs reads a logging call's arguments: the params they hold and, when
// withStr, the first string (the record type, or the stack trace for Error).
// Any other string is a stray argument, like an argument of another type.
func scanArgs(list []any, withStr bool) (a args, str string) {
	a = args{list: list, noStr: !withStr}
	strs := 0
	for _, x := range list {
		switch x := x.(type) {
		case nil:
		case Param:
			a.n++
		case []Param:
			a.n += len(x)
		case map[string]any:
			a.n += len(x)
		case string:
			if strs == 0 && withStr {
				str = x
			} else {
				a.n++
			}
			strs++
		default:
			a.n++
		}
	}
	return a, str
}

// appendTo appends the params of the arguments to dst: maps converted with
// AnyValue, Params as they are, stray arguments under BadArgKey.
func (a *args) appendTo(dst []Param, max int) []Param {
	strs := 0
	for i, x := range a.list {
		switch x := x.(type) {
		case nil:
		case Param:
			dst = append(dst, x)
			if max > 0 && len(x.Value.str) > max {
				dst[len(dst)-1].Value = limitValue(x.Value, max)
			}
		case []Param:
			for _, p := range x {
				dst = append(dst, Param{Key: p.Key, Value: limitValue(p.Value, max)})
			}
		case map[string]any:
			for k, v := range x {
				dst = append(dst, Param{Key: k, Value: limitValue(AnyValue(v), max)})
			}
		case string:
			strs++
			if strs > 1 || a.noStr {
				dst = append(dst, Param{Key: badArgKey(i), Value: limitValue(StringValue(x), max)})
			}
		default:
			dst = append(dst, Param{Key: badArgKey(i), Value: limitValue(strayValue(x), max)})
		}
	}
	return dst
}

func badArgKey(i int) string {
	if i < len(badArgKeys) {
		return badArgKeys[i]
	}
	return BadArgKey + strconv.Itoa(i)
}

var badArgKeys = func() (keys [8]string) {
	for i := range keys {
		keys[i] = BadArgKey + strconv.Itoa(i)
	}
	return keys
}()
