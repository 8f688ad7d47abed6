package analysis

import (
	"cmp"
	"context"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
)

// PackageParam is the param naming the component that logged an event: the
// package of [audit.Logger.WithPackage].
const PackageParam = "package"

// PackageUsage is the use of one package (the components of
// [audit.Logger.WithPackage]) in a window.
type PackageUsage struct {
	Package string `json:"package"`
	// Events counts the package's events; Users the distinct users of
	// them (events without a user not counted).
	Events int64 `json:"events"`
	Users  int64 `json:"users"`
	// Functions counts the package's function calls (its events with the
	// param audit.FunctionParam) per function, most first, then by name:
	// the drill-down from a package to its functions.
	Functions []Count `json:"functions"`
}

// packages returns the use of each package by the events that match f,
// most events first, then by name: two GROUP BY over the events joined to
// their package param (and function param).
func (a *Analyzer) packages(ctx context.Context, f *driver.Where) ([]PackageUsage, error) {
	from := `FROM {events} e JOIN {event_parameter_values} pv ON pv.event_id = e.id
 AND pv.parameter_id IN (SELECT id FROM {event_parameters} WHERE name = '` + PackageParam + `')`
	byName := map[string]*PackageUsage{}
	get := func(text string, raw []byte) *PackageUsage {
		name := driver.DecodeText(text, raw)
		p := byName[name]
		if p == nil {
			p = &PackageUsage{Package: name}
			byName[name] = p
		}
		return p
	}
	err := a.query(ctx, "usage: packages", "SELECT pv.value, pv.value_raw, count(*), count(DISTINCT e.user_id) "+from+
		" WHERE "+f.String()+" GROUP BY pv.value, pv.value_raw", f.Args(), func(r *sqlx.Rows) error {
		var text string
		var raw []byte
		var n, users int64
		if err := r.Scan(&text, &raw, &n, &users); err != nil {
			return err
		}
		p := get(text, raw)
		p.Events += n
		p.Users += users
		return nil
	})
	if err != nil {
		return nil, err
	}
	fns := map[*PackageUsage]map[string]int64{}
	err = a.query(ctx, "usage: package functions", "SELECT pv.value, pv.value_raw, fv.value, fv.value_raw, count(*) "+from+
		" JOIN {event_parameter_values} fv ON fv.event_id = e.id AND fv.parameter_id IN (SELECT id FROM {event_parameters} WHERE name = '"+audit.FunctionParam+"')"+
		" WHERE "+f.String()+" GROUP BY pv.value, pv.value_raw, fv.value, fv.value_raw", f.Args(), func(r *sqlx.Rows) error {
		var text, fn string
		var raw, fnRaw []byte
		var n int64
		if err := r.Scan(&text, &raw, &fn, &fnRaw, &n); err != nil {
			return err
		}
		p := get(text, raw)
		if fns[p] == nil {
			fns[p] = map[string]int64{}
		}
		fns[p][driver.DecodeText(fn, fnRaw)] += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]PackageUsage, 0, len(byName))
	for _, p := range byName {
		p.Functions = sortedCounts(fns[p])
		out = append(out, *p)
	}
	slices.SortFunc(out, func(x, y PackageUsage) int {
		if c := cmp.Compare(y.Events, x.Events); c != 0 {
			return c
		}
		return cmp.Compare(x.Package, y.Package)
	})
	return out, nil
}
