package analysis_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/datagrok"
)

// TestPatterns clusters six users: three who mostly click menus, three who
// mostly run queries.
func TestPatterns(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, mk := b.open(t)
			// user -> (menu clicks, query starts)
			mix := map[string][2]int{"u1": {4, 0}, "u2": {3, 1}, "u3": {4, 0}, "u4": {0, 4}, "u5": {1, 3}, "u6": {0, 4}}
			var batch []audit.Event
			i := 0
			for u, m := range mix {
				for j := range m[0] + m[1] {
					typ := datagrok.MainMenuItemClick
					if j >= m[0] {
						typ = datagrok.QueryStart
					}
					i++
					batch = append(batch, audit.Event{ID: uuid.Must(uuid.NewV7()), Time: week.Since.Add(time.Duration(i) * time.Minute),
						Level: audit.LevelUsage, Type: typ, UserID: u, SessionID: "s-" + u})
				}
			}
			// Outside the window: ignored.
			batch = append(batch, audit.Event{ID: uuid.Must(uuid.NewV7()), Time: week.Since.Add(-time.Minute), Level: audit.LevelUsage, Type: "other", UserID: "u1"})
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			dir := map[string][]string{"u1": {"eng"}, "u2": {"eng"}, "u3": {"eng", "ops"}, "u4": {"sales"}, "u5": {"sales"}}
			a, err := mk(analysis.Options{Now: func() time.Time { return now }, Groups: analysis.GroupMap(dir)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := a.Patterns(context.Background(), analysis.PatternsRequest{Since: week.Since})
			if err != nil {
				t.Fatal(err)
			}
			// Silhouette of k=2 by hand: 0.86364 for u1, u3, u4, u6; 0.625
			// for u2, u5 (distances 0.35355, 1.41421, 1.06066, 0.70711).
			if math.Abs(res.Silhouette-0.78409) > 1e-4 || res.K != 2 {
				t.Errorf("K %d silhouette %v, want 2, 0.78409", res.K, res.Silhouette)
			}
			if len(res.Scores) != 3 || res.Scores[0].K != 2 || res.Scores[2].K != 4 {
				t.Errorf("scores %+v, want k = 2..4", res.Scores)
			}
			for _, sc := range res.Scores[1:] {
				if sc.Silhouette >= res.Scores[0].Silhouette {
					t.Errorf("k=%d scores %v, not below k=2", sc.K, sc.Silhouette)
				}
			}
			want := []analysis.Cluster{
				{Members: []string{"u1", "u2", "u3"},
					Top:      []analysis.TypeShare{{Type: datagrok.MainMenuItemClick, Share: 2.75 / 3}, {Type: datagrok.QueryStart, Share: 0.25 / 3}},
					Centroid: []float64{2.75 / 3, 0.25 / 3},
					Groups:   []analysis.Count{{Key: "eng", Count: 3}, {Key: "ops", Count: 1}}},
				{Members: []string{"u4", "u5", "u6"},
					Top:       []analysis.TypeShare{{Type: datagrok.QueryStart, Share: 2.75 / 3}, {Type: datagrok.MainMenuItemClick, Share: 0.25 / 3}},
					Centroid:  []float64{0.25 / 3, 2.75 / 3},
					Groups:    []analysis.Count{{Key: "sales", Count: 2}},
					Ungrouped: 1},
			}
			if diff := cmp.Diff(want, res.Clusters, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("clusters (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{datagrok.MainMenuItemClick, datagrok.QueryStart}, res.Types); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
			var users []string
			for _, u := range res.Users {
				users = append(users, fmt.Sprintf("%s:%d:%d", u.User, u.Events, u.Cluster))
			}
			if diff := cmp.Diff([]string{"u1:4:0", "u2:4:0", "u3:4:0", "u4:4:1", "u5:4:1", "u6:4:1"}, users); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			// A given K; the same request gives the same answer.
			again, err := a.Patterns(context.Background(), analysis.PatternsRequest{Since: week.Since, K: 3})
			if err != nil {
				t.Fatal(err)
			}
			again2, err := a.Patterns(context.Background(), analysis.PatternsRequest{Since: week.Since, K: 3})
			if err != nil {
				t.Fatal(err)
			}
			if again.K != 3 || len(again.Clusters) != 3 || again.Scores != nil {
				t.Errorf("K=3: %d clusters, scores %v", len(again.Clusters), again.Scores)
			}
			if diff := cmp.Diff(again, again2); diff != "" {
				t.Errorf("not deterministic (-first +second):\n%s", diff)
			}
		})
	}
}
