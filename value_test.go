package audit

import (
	"testing"
	"time"

	"github.com/auditkit/audit/internal/codec"
)

// TestCodecKinds checks that internal/codec, through which the stores read
// params back, names every Kind as Kind.String does and parses each kind's
// text into the Value that wrote it.
func TestCodecKinds(t *testing.T) {
	values := map[Kind]Value{
		KindNull: {}, KindString: StringValue("s"), KindInt64: Int64Value(-3), KindUint64: Uint64Value(1 << 63),
		KindFloat64: Float64Value(1.5), KindBool: BoolValue(true), KindTime: TimeValue(time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)),
		KindDuration: DurationValue(1500 * time.Millisecond), KindEntity: EntityValue(Ref("query", "q1")), KindJSON: JSONValue([]byte(`{"a":[1]}`)),
	}
	for k := KindNull; k <= KindJSON; k++ {
		got, ok := codec.ParseKind(k.String())
		if !ok || Kind(got) != k {
			t.Errorf("ParseKind(%q) = %d, %v; want %d", k.String(), got, ok, k)
		}
		v := values[k]
		if v.Kind() != k {
			t.Fatalf("test value for %v has kind %v", k, v.Kind())
		}
		ek := ""
		if e, ok := v.Entity(); ok {
			ek = e.Kind
		}
		back, err := codec.ParseValue(uint8(k), v.String(), ek)
		if err != nil || back.(Value) != v {
			t.Errorf("ParseValue(%v, %q) = %v, %v; want %v", k, v.String(), back, err, v)
		}
	}
	if _, ok := codec.ParseKind("kind(10)"); ok {
		t.Error("ParseKind accepts an unknown name")
	}
	if _, err := codec.ParseValue(uint8(KindInt64), "x", ""); err == nil {
		t.Error("ParseValue accepts a bad int64")
	}
}
