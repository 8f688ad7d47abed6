package analysis

import (
	"math"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

func TestBucketFor(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		window, want time.Duration
	}{
		{0, 10 * time.Minute},
		{time.Hour, 10 * time.Minute},
		{3*time.Hour - 1, 10 * time.Minute},
		{3 * time.Hour, time.Hour},
		{24 * time.Hour, time.Hour},
		{2*day - 1, time.Hour},
		{2 * day, 4 * time.Hour},
		{7 * day, 4 * time.Hour},
		{10*day - 1, 4 * time.Hour},
		{10 * day, day},
		{30 * day, day},
		{70*day - 1, day},
		{70 * day, 60 * time.Hour},
		{90 * day, 60 * time.Hour},
		{183*day - 1, 60 * time.Hour},
		{183 * day, 10 * day},
		{365 * day, 10 * day},
	} {
		if got := BucketFor(tc.window); got != tc.want {
			t.Errorf("BucketFor(%s) = %s, want %s", tc.window, got, tc.want)
		}
	}
}

func TestBucketStarts(t *testing.T) {
	w := Window{Since: time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC), Until: time.Date(2025, 3, 3, 13, 0, 0, 1000, time.UTC)}
	got := bucketStarts(w, 4*time.Hour)
	want := []int{4, 8, 12}
	if len(got) != len(want) {
		t.Fatalf("buckets %v", got)
	}
	for i, h := range want {
		if got[i] != time.Date(2025, 3, 3, h, 0, 0, 0, time.UTC) {
			t.Errorf("bucket %d starts %s, want %02d:00", i, got[i], h)
		}
	}
	if got := floorTime(time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), day); !got.Equal(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("floor before the epoch: %s", got)
	}
}

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		values []float64
		p      float64
		want   float64
	}{
		{[]float64{7}, 0.5, 7},
		{[]float64{7}, 0.99, 7},
		{[]float64{1, 2}, 0.5, 1.5},
		{[]float64{10, 20, 30, 40}, 0.5, 25},
		{[]float64{10, 20, 30, 40}, 0.95, 38.5},
		{[]float64{10, 20, 30, 40}, 0, 10},
		{[]float64{10, 20, 30, 40}, 1, 40},
		{[]float64{1, 5, 7}, 0.99, 6.96},
	} {
		if got := percentile(tc.values, tc.p); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.values, tc.p, got, tc.want)
		}
	}
	if !math.IsNaN(percentile(nil, 0.5)) {
		t.Error("percentile of nothing is not NaN")
	}
}

func TestKMeans(t *testing.T) {
	// Three tight blobs on a line.
	var pts [][]float64
	for _, c := range []float64{0, 10, 20} {
		for _, d := range []float64{-0.1, 0, 0.1} {
			pts = append(pts, []float64{c + d, 1})
		}
	}
	dist := distances(pts)
	best, bestK := -2.0, 0
	for k := 2; k <= 5; k++ {
		as := kmeans(pts, k)
		if s := silhouette(dist, as, k); s > best {
			best, bestK = s, k
		}
	}
	if bestK != 3 {
		t.Errorf("silhouette chose k=%d, want 3", bestK)
	}
	as := kmeans(pts, 3)
	for i := range pts {
		if as[i] != as[i/3*3] {
			t.Errorf("point %d in cluster %d, its blob in %d", i, as[i], as[i/3*3])
		}
	}
	if as[0] == as[3] || as[3] == as[6] || as[0] == as[6] {
		t.Errorf("blobs share clusters: %v", as)
	}
	// Identical points: one distinct point caps the seeding.
	if got := distinct([][]float64{{1, 0}, {1, 0}}); got != 1 {
		t.Errorf("distinct = %d", got)
	}
	if s := silhouette(distances([][]float64{{0}, {1}}), []int{0, 1}, 2); s != 0 {
		t.Errorf("silhouette of singletons = %v, want 0", s)
	}
}

func TestRole(t *testing.T) {
	q, tb, bare := audit.Ref("query", "q1"), audit.Ref("table", "t1"), audit.Entity{ID: "x"}
	for _, tc := range []struct {
		typ, key        string
		ent             audit.Entity
		source, product bool
	}{
		{datagrok.TableProduced, "table", tb, false, true},
		{datagrok.TableProduced, "query", q, true, false}, // a table made by a query comes from it
		{datagrok.TableProduced, "source", tb, true, false},
		{datagrok.TableProduced, "x", bare, false, true},
		{datagrok.QueryCreated, "query", q, false, true},
		{datagrok.QueryCreated, "connection", audit.Ref("connection", "c"), true, false},
		{"predictive-model-created", "model", audit.Ref("predictive-model", "m"), false, true},
		{audit.TypeFunctionCall, "out.table", tb, false, true},
		{audit.TypeFunctionCall, "in.query", q, true, false},
		{datagrok.QueryStart, "query", q, false, false},
	} {
		s, p := role(tc.typ, tc.key, tc.ent)
		if s != tc.source || p != tc.product {
			t.Errorf("%s %s=%v: source %v product %v, want %v %v", tc.typ, tc.key, tc.ent, s, p, tc.source, tc.product)
		}
	}
}
