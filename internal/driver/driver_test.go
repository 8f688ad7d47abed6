package driver

import (
	"math"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

func TestText(t *testing.T) {
	for _, s := range []string{"", "plain", "é", "a\x00b", "\xff", "a\xc3", "\u2400"} {
		text, raw := EncodeText(s)
		if got := DecodeText(text, raw); got != s {
			t.Errorf("%q: round trip gave %q", s, got)
		}
		if want, changed := audit.Text(s); text != want || changed != (raw != nil) {
			t.Errorf("%q: text %q raw %q", s, text, raw)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	bad := "x\x00\xfe"
	for _, v := range []audit.Value{
		audit.Value{}, audit.StringValue(""), audit.StringValue(bad),
		audit.Int64Value(math.MinInt64), audit.Uint64Value(math.MaxUint64),
		audit.Float64Value(-0.0), audit.Float64Value(math.Inf(1)), audit.Float64Value(1e-300),
		audit.BoolValue(false), audit.TimeValue(time.Date(1969, 7, 20, 20, 17, 40, 123456789, time.UTC)),
		audit.DurationValue(-time.Nanosecond), audit.EntityValue(audit.Ref(bad, bad)),
		audit.EntityValue(audit.Ref("", uuid.NewString())), audit.JSONValue([]byte(`{"a":[1,null]}`)),
	} {
		r := EncodeValue(audit.Param{Key: bad, Value: v})
		var kind *string
		if r.Entity {
			kind = &r.EntityKind
		}
		got := DecodeValue(r.NameText, r.NameRaw, r.Param.Kind.String(), r.Value, r.ValueRaw, kind, r.KindRaw)
		if got.Key != bad || got.Value != v {
			t.Errorf("%v (%s): got %v (%s)", v, v.Kind(), got.Value, got.Value.Kind())
		}
	}
	// Rows written by another program: an unknown type or a value that does
	// not parse reads as a string.
	if p := DecodeValue("k", nil, "varchar", "v", nil, nil, nil); p.Value != audit.StringValue("v") {
		t.Errorf("unknown type: %v", p.Value)
	}
	if p := DecodeValue("k", nil, "int64", "many", nil, nil, nil); p.Value != audit.StringValue("many") {
		t.Errorf("bad int: %v", p.Value)
	}
}

func TestEntityUUID(t *testing.T) {
	id := uuid.New()
	if r := EncodeValue(audit.P("q", audit.Ref("query", id.String()))); !r.ValueUUID.Valid || r.ValueUUID.UUID != id || r.Value != id.String() {
		t.Errorf("uuid entity: %+v", r)
	}
	if r := EncodeValue(audit.P("q", audit.Ref("query", "orders/1"))); r.ValueUUID.Valid || !r.Entity || r.EntityKind != "query" {
		t.Errorf("text entity: %+v", r)
	}
	if r := EncodeValue(audit.P("q", id.String())); r.ValueUUID.Valid || r.Entity {
		t.Errorf("a string that looks like a uuid is not an object reference: %+v", r)
	}
}

func TestSessionUUID(t *testing.T) {
	id := uuid.NewString()
	if got, ok := SessionUUID(id); !ok || got.String() != id {
		t.Errorf("canonical uuid session: %s", got)
	}
	up := strings.ToUpper(id)
	if got, _ := SessionUUID(up); got.String() == id {
		t.Error("an upper-case uuid maps to the lower-case one's id")
	}
	a, _ := SessionUUID("a\x00")
	b, _ := SessionUUID("a\u2400")
	if a == b {
		t.Error("sessions that differ only in bad bytes share an id")
	}
	if _, ok := SessionUUID(""); ok {
		t.Error("empty session has an id")
	}
}

type testDialect struct{}

func (testDialect) BindType() int                             { return sqlx.QUESTION }
func (testDialect) Table(name string) string                  { return `"` + name + `"` }
func (testDialect) TimeArg(t time.Time) any                   { return t.UnixMicro() }
func (testDialect) UUIDArg(id uuid.UUID) any                  { return id.String() }
func (testDialect) Bucket(col string, _ time.Duration) string { return col }
func (testDialect) CastInt(expr string) string                { return expr }
func (testDialect) CastFloat(expr string) string              { return expr }
func (testDialect) SQLPercentiles() bool                      { return false }
func (testDialect) Cursors() bool                             { return false }
func (testDialect) ValueTimes() bool                          { return false }
func (testDialect) Translate(pkg, op string, err error) error {
	return err
}

func TestEventsQuery(t *testing.T) {
	q := audit.Query{
		Since: time.Unix(10, 0), Until: time.Unix(20, 0),
		Levels: []audit.Level{audit.LevelError}, Types: []string{"a", "b\x00"},
		UserIDs: []string{"u"}, SessionIDs: []string{"s"},
		Object: &audit.Entity{Kind: "k", ID: "o"}, Limit: 5,
		After: audit.EncodeCursor(time.Unix(15, 0), uuid.Nil),
	}
	sql, args, err := EventsQuery(testDialect{}, &q)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sql, "?"); n != len(args) {
		t.Errorf("%d placeholders, %d args:\n%s", n, len(args), sql)
	}
	for _, want := range []string{"LIMIT 6", "ORDER BY e.event_time DESC, e.id DESC", "t.friendly_name_raw = ?", "t.friendly_name_raw IS NULL", "v.entity_kind IS NOT NULL"} {
		if !strings.Contains(sql, want) {
			t.Errorf("query lacks %q:\n%s", want, sql)
		}
	}
	if _, _, err := EventsQuery(testDialect{}, &audit.Query{After: "!"}); err == nil {
		t.Error("bad cursor accepted")
	}
}

func TestValidate(t *testing.T) {
	ok := audit.Event{ID: uuid.New(), Time: time.Now(), Level: audit.LevelInfo}
	if err := Validate(&ok); err != nil {
		t.Fatal(err)
	}
	many := ok
	for i := range 20 {
		many.Params = append(many.Params, audit.P(strings.Repeat("k", i+1), i))
	}
	if err := Validate(&many); err != nil {
		t.Error(err)
	}
	many.Params = append(many.Params, audit.P("k", 0))
	if err := Validate(&many); err == nil {
		t.Error("duplicate key among many accepted")
	}
	far := ok
	far.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := Validate(&far); err == nil {
		t.Error("year 10000 accepted")
	}
}

func TestCeilMicro(t *testing.T) {
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ in, want time.Time }{
		{at, at},
		{at.Add(time.Nanosecond), at.Add(time.Microsecond)},
		{at.Add(-time.Nanosecond), at},
		{at.Add(999 * time.Nanosecond).In(time.FixedZone("x", 3600)), at.Add(time.Microsecond)},
	} {
		if got := CeilMicro(tc.in); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("CeilMicro(%s) = %s, want %s", tc.in.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
		}
	}
}

func TestReadMigrations(t *testing.T) {
	good := fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("B")},
		"m/0001_init.sql": {Data: []byte("A")},
		"m/README":        {Data: []byte("ignored")},
	}
	got, err := ReadMigrations(good, "m")
	if err != nil || len(got) != 2 || got[0] != (Migration{1, "init", "A"}) || got[1] != (Migration{2, "more", "B"}) {
		t.Errorf("ReadMigrations = %+v, %v", got, err)
	}
	for _, bad := range []fstest.MapFS{
		{"m/init.sql": {}},
		{"m/0001.sql": {}},
		{"m/0001_a.sql": {}, "m/1_b.sql": {}},
	} {
		if _, err := ReadMigrations(bad, "m"); err == nil {
			t.Errorf("ReadMigrations(%v) succeeded", bad)
		}
	}
}

// dollarDialect numbers its placeholders, as Postgres does.
type dollarDialect struct{ testDialect }

func (dollarDialect) BindType() int { return sqlx.DOLLAR }

func TestStatements(t *testing.T) {
	d := dollarDialect{}
	got := InsertValues(d, TableValues, []string{"a", "b"}, 2, "ON CONFLICT DO NOTHING")
	if want := `INSERT INTO "event_parameter_values" (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING`; got != want {
		t.Errorf("InsertValues = %q, want %q", got, want)
	}
	up := SessionsInsert(d, 2)
	if !strings.HasSuffix(up, "($9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (id) DO NOTHING") || strings.Contains(up, "UPDATE") {
		t.Errorf("SessionsInsert = %q", up)
	}
	r := SessionRow{Key: TextPair{Text: "k"}}
	if args := r.Args(d); len(args) != len(SessionColumns) || args[1] != nil {
		t.Errorf("SessionRow.Args = %v", args)
	}
}

func TestFind(t *testing.T) {
	type store struct{ db DB }
	Register(func(s *store) DB { return s.db })
	want := DB{Dialect: testDialect{}}
	if got, err := Find(&store{db: want}); err != nil || got.Dialect != want.Dialect {
		t.Errorf("Find(registered) = %v, %v", got, err)
	}
	for _, s := range []any{(*store)(nil), 42, nil} {
		if _, err := Find(s); err == nil {
			t.Errorf("Find(%#v) found a database", s)
		}
	}
}
