package analysis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/auditkit/audit/internal/driver"
	"github.com/jmoiron/sqlx"
)

// PatternsRequest asks for clusters of users by their usage
// ([Analyzer.Patterns]).
type PatternsRequest struct {
	// Since (inclusive) and Until (exclusive) bound the window. Default:
	// the LongWindow (30 days) ending now.
	Since, Until time.Time
	// K is the number of clusters. Default 0: chosen by silhouette (see
	// [Analyzer.Patterns]).
	K int
	// MaxK is the largest K tried when K is chosen. Default 8.
	MaxK int
	// MinEvents leaves out users with fewer events in the window. Default 1.
	MinEvents int
	// Top is how many record types describe each cluster. Default 5.
	Top int
	// Scope keeps the events of some users, groups and levels: the users
	// clustered are those of the scope, by their events in it.
	Scope
}

// UserVector is one user's usage: the share of each record type in the
// user's events.
type UserVector struct {
	User string `json:"user_id"`
	// Events is the number of the user's events in the window.
	Events int64 `json:"events"`
	// Vector holds the share of each of PatternsResult.Types (it sums to 1).
	Vector []float64 `json:"vector"`
	// Cluster is the index of the user's cluster in PatternsResult.Clusters.
	Cluster int `json:"cluster"`
}

// TypeShare is the weight of a record type in a cluster's centroid.
type TypeShare struct {
	Type  string  `json:"type"`
	Share float64 `json:"share"`
}

// Cluster is a group of users with similar usage.
type Cluster struct {
	// Members are the users, sorted.
	Members []string `json:"members"`
	// Top are the record types of the largest share in the centroid (the
	// mean of the members' vectors), largest first.
	Top []TypeShare `json:"top"`
	// Centroid is the mean vector, over PatternsResult.Types.
	Centroid []float64 `json:"centroid"`
	// Groups counts the members in each group (as Options.Groups tells),
	// most first; a member in several groups counts in each.
	Groups []Count `json:"groups"`
	// Ungrouped is the number of members in no group.
	Ungrouped int `json:"ungrouped"`
}

// KScore is the mean silhouette of the clustering with K clusters.
type KScore struct {
	K          int     `json:"k"`
	Silhouette float64 `json:"silhouette"`
}

// PatternsResult is the clustering of users by usage.
type PatternsResult struct {
	Window Window `json:"window"`
	// Types are the record types, the dimensions of the vectors, sorted.
	Types []string `json:"types"`
	// Users are the users' vectors, sorted by user.
	Users []UserVector `json:"users"`
	// K is the number of clusters; Silhouette the mean silhouette of the
	// clustering (from -1 to 1; higher is better separated).
	K          int     `json:"k"`
	Silhouette float64 `json:"silhouette"`
	// Scores are the silhouettes of each K tried, when K was chosen.
	Scores []KScore `json:"scores"`
	// Clusters are the clusters, largest first (then by first member).
	Clusters []Cluster `json:"clusters"`
}

// kmeansSeed seeds the k-means++ initialisation, so results are
// reproducible.
const kmeansSeed = 20240501

// Patterns clusters the users by usage. Each user with at least MinEvents
// events in the window is a vector of record-type frequencies (one GROUP BY
// user, type), normalised to shares that sum to 1, so heavy and light users
// of the same features look alike. The vectors are clustered by k-means
// (Lloyd's algorithm from k-means++ seeds drawn from a fixed seed, best of
// 5 runs by within-cluster sum of squares, so the result is deterministic).
//
// Choice of k: unless K is given, every k from 2 to min(MaxK, n-1, the
// number of distinct vectors) is tried and the one of highest mean
// silhouette (Euclidean distance) kept, ties to the smaller k; with fewer
// than 3 users there is one cluster. Each cluster is reported with its
// members, the top record types of its centroid and how its members split
// across groups ([Options.Groups]).
func (a *Analyzer) Patterns(ctx context.Context, req PatternsRequest) (PatternsResult, error) {
	w, err := a.window(req.Since, req.Until, LongWindow)
	if err != nil {
		return PatternsResult{}, err
	}
	switch {
	case req.K < 0:
		return PatternsResult{}, fmt.Errorf("analysis: patterns: %w: K %d is negative", ErrInvalidRequest, req.K)
	case req.MaxK < 0:
		return PatternsResult{}, fmt.Errorf("analysis: patterns: %w: MaxK %d is negative", ErrInvalidRequest, req.MaxK)
	case req.MinEvents < 0:
		return PatternsResult{}, fmt.Errorf("analysis: patterns: %w: MinEvents %d is negative", ErrInvalidRequest, req.MinEvents)
	case req.Top < 0:
		return PatternsResult{}, fmt.Errorf("analysis: patterns: %w: Top %d is negative", ErrInvalidRequest, req.Top)
	}
	maxK := cmp.Or(req.MaxK, 8)
	minEvents := int64(cmp.Or(req.MinEvents, 1))
	top := cmp.Or(req.Top, 5)

	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	f.Add("e.user_id IS NOT NULL")
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return PatternsResult{}, err
	}
	sc.apply(f)
	counts := map[string]map[string]int64{}
	typeSet := map[string]bool{}
	inner, args := "SELECT e.user_id, e.user_id_raw, e.event_type_id, count(*) AS n FROM {events} e WHERE "+f.String()+
		" GROUP BY e.user_id, e.user_id_raw, e.event_type_id", f.Args()
	if sp, rolled, err := a.span(ctx, w, true, sc, driver.RollupUserTypes); err != nil {
		return PatternsResult{}, err
	} else if rolled {
		var rel string
		rel, args = a.rel(driver.RollupUserTypes, sp, sc)
		inner = "SELECT r.user_id, r.user_id_raw, r.event_type_id, sum(r.n) AS n FROM " + rel +
			" GROUP BY r.user_id, r.user_id_raw, r.event_type_id"
	}
	err = a.query(ctx, "patterns", `SELECT x.user_id, x.user_id_raw, t.friendly_name, t.friendly_name_raw, x.n
FROM (`+inner+`) x JOIN {event_types} t ON t.id = x.event_type_id`, args, func(r *sqlx.Rows) error {
		var user, typ string
		var userRaw, typRaw []byte
		var n int64
		if err := r.Scan(&user, &userRaw, &typ, &typRaw, &n); err != nil {
			return err
		}
		u, t := driver.DecodeText(user, userRaw), driver.DecodeText(typ, typRaw)
		if counts[u] == nil {
			counts[u] = map[string]int64{}
		}
		counts[u][t] += n
		typeSet[t] = true
		return nil
	})
	if err != nil {
		return PatternsResult{}, err
	}
	res := PatternsResult{Window: w}
	for t := range typeSet {
		res.Types = append(res.Types, t)
	}
	slices.Sort(res.Types)
	for u, m := range counts {
		var total int64
		for _, n := range m {
			total += n
		}
		if total < minEvents {
			continue
		}
		v := make([]float64, len(res.Types))
		for i, t := range res.Types {
			v[i] = float64(m[t]) / float64(total)
		}
		res.Users = append(res.Users, UserVector{User: u, Events: total, Vector: v})
	}
	slices.SortFunc(res.Users, func(x, y UserVector) int { return cmp.Compare(x.User, y.User) })
	if len(res.Users) == 0 {
		return res, nil
	}

	points := make([][]float64, len(res.Users))
	for i, u := range res.Users {
		points[i] = u.Vector
	}
	var assign []int
	switch {
	case req.K > 0:
		k := min(req.K, distinct(points))
		assign = kmeans(points, k)
		res.K, res.Silhouette = k, silhouette(distances(points), assign, k)
	case len(points) < 3 || distinct(points) < 2:
		assign = make([]int, len(points))
		res.K = 1
	default:
		dist := distances(points)
		best := -2.0
		for k := 2; k <= min(maxK, len(points)-1, distinct(points)); k++ {
			if err := ctx.Err(); err != nil {
				return PatternsResult{}, fmt.Errorf("analysis: patterns: %w", err)
			}
			as := kmeans(points, k)
			s := silhouette(dist, as, k)
			res.Scores = append(res.Scores, KScore{K: k, Silhouette: s})
			if s > best {
				best, assign, res.K, res.Silhouette = s, as, k, s
			}
		}
	}

	// Clusters, largest first, then by first member (users are sorted).
	members := make([][]int, res.K)
	for i, c := range assign {
		members[c] = append(members[c], i)
	}
	order := make([]int, 0, res.K)
	for c := range members {
		if len(members[c]) > 0 {
			order = append(order, c)
		}
	}
	slices.SortStableFunc(order, func(x, y int) int {
		if c := cmp.Compare(len(members[y]), len(members[x])); c != 0 {
			return c
		}
		return cmp.Compare(members[x][0], members[y][0])
	})
	res.K = len(order)
	for ci, c := range order {
		cl := Cluster{Centroid: make([]float64, len(res.Types))}
		groups := map[string]int64{}
		for _, i := range members[c] {
			u := res.Users[i].User
			res.Users[i].Cluster = ci
			cl.Members = append(cl.Members, u)
			for d, x := range points[i] {
				cl.Centroid[d] += x
			}
			gs := a.opts.Groups(u)
			if len(gs) == 0 {
				cl.Ungrouped++
			}
			seen := map[string]bool{}
			for _, g := range gs {
				if !seen[g] {
					seen[g] = true
					groups[g]++
				}
			}
		}
		for d := range cl.Centroid {
			cl.Centroid[d] /= float64(len(members[c]))
		}
		for d, t := range res.Types {
			if cl.Centroid[d] > 0 {
				cl.Top = append(cl.Top, TypeShare{Type: t, Share: cl.Centroid[d]})
			}
		}
		slices.SortStableFunc(cl.Top, func(x, y TypeShare) int { return cmp.Compare(y.Share, x.Share) })
		if len(cl.Top) > top {
			cl.Top = cl.Top[:top]
		}
		cl.Groups = sortedCounts(groups)
		res.Clusters = append(res.Clusters, cl)
	}
	return res, nil
}

// distinct returns the number of distinct points.
func distinct(points [][]float64) int {
	seen := map[string]bool{}
	for _, p := range points {
		seen[fmt.Sprint(p)] = true
	}
	return len(seen)
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// kmeans clusters points into k clusters (k <= the number of distinct
// points): k-means++ seeding from a fixed seed, then Lloyd's iterations
// until no point moves (at most 100), best of 5 runs by the sum of squared
// distances to the centroids. It returns each point's cluster.
func kmeans(points [][]float64, k int) []int {
	rng := rand.New(rand.NewPCG(kmeansSeed, uint64(k)))
	var best []int
	bestCost := math.Inf(1)
	for run := 0; run < 5; run++ {
		assign, cost := lloyd(points, seed(points, k, rng))
		if cost < bestCost-1e-12 {
			best, bestCost = assign, cost
		}
	}
	return best
}

// seed picks k initial centroids by k-means++: the first uniformly, each
// next with probability proportional to its squared distance to the
// nearest centroid so far.
func seed(points [][]float64, k int, rng *rand.Rand) [][]float64 {
	centers := [][]float64{slices.Clone(points[rng.IntN(len(points))])}
	d2 := make([]float64, len(points))
	for len(centers) < k {
		var total float64
		for i, p := range points {
			d2[i] = math.Inf(1)
			for _, c := range centers {
				d2[i] = min(d2[i], sqDist(p, c))
			}
			total += d2[i]
		}
		if total == 0 {
			break
		}
		r := rng.Float64() * total
		pick := len(points) - 1
		for i, d := range d2 {
			if r < d {
				pick = i
				break
			}
			r -= d
		}
		centers = append(centers, slices.Clone(points[pick]))
	}
	return centers
}

// lloyd runs Lloyd's iterations from the given centroids and returns the
// assignment and its cost. A cluster left empty takes the point farthest
// from its centroid.
func lloyd(points [][]float64, centers [][]float64) ([]int, float64) {
	k, dims := len(centers), len(points[0])
	assign := make([]int, len(points))
	for i := range assign {
		assign[i] = -1
	}
	var cost float64
	for iter := 0; iter < 100; iter++ {
		moved := false
		cost = 0
		for i, p := range points {
			bc, bd := 0, math.Inf(1)
			for c, ctr := range centers {
				if d := sqDist(p, ctr); d < bd {
					bc, bd = c, d
				}
			}
			if assign[i] != bc {
				assign[i], moved = bc, true
			}
			cost += bd
		}
		if !moved {
			break
		}
		sizes := make([]int, k)
		for c := range centers {
			centers[c] = make([]float64, dims)
		}
		for i, p := range points {
			c := assign[i]
			sizes[c]++
			for d, x := range p {
				centers[c][d] += x
			}
		}
		for c := range centers {
			if sizes[c] == 0 {
				far, fd := 0, -1.0
				for i, p := range points {
					if d := sqDist(p, centers[assign[i]]); sizes[assign[i]] > 1 && d > fd {
						far, fd = i, d
					}
				}
				centers[c] = slices.Clone(points[far])
				continue
			}
			for d := range centers[c] {
				centers[c][d] /= float64(sizes[c])
			}
		}
	}
	return assign, cost
}

// distances returns the Euclidean distances between every two points.
func distances(points [][]float64) [][]float64 {
	n := len(points)
	d := make([][]float64, n)
	for i := range d {
		d[i] = make([]float64, n)
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			x := math.Sqrt(sqDist(points[i], points[j]))
			d[i][j], d[j][i] = x, x
		}
	}
	return d
}

// silhouette returns the mean silhouette of the assignment: for each point,
// (b-a)/max(a,b) with a its mean distance to the other members of its
// cluster and b the least mean distance to the members of another cluster;
// 0 for a point alone in its cluster.
func silhouette(dist [][]float64, assign []int, k int) float64 {
	n := len(assign)
	if k < 2 || n < 2 {
		return 0
	}
	sizes := make([]int, k)
	for _, c := range assign {
		sizes[c]++
	}
	var total float64
	sums := make([]float64, k)
	for i := range n {
		clear(sums)
		for j := range n {
			if j != i {
				sums[assign[j]] += dist[i][j]
			}
		}
		own := assign[i]
		if sizes[own] < 2 {
			continue
		}
		a := sums[own] / float64(sizes[own]-1)
		b := math.Inf(1)
		for c := range k {
			if c != own && sizes[c] > 0 {
				b = min(b, sums[c]/float64(sizes[c]))
			}
		}
		if math.IsInf(b, 1) {
			continue
		}
		if m := max(a, b); m > 0 {
			total += (b - a) / m
		}
	}
	return total / float64(n)
}
