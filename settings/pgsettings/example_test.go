package pgsettings_test

import (
	"context"
	"fmt"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
)

func Example() {
	dsn, schema, drop := pgtest.ExampleSchema()
	defer drop()
	ctx := context.Background()

	engine, _ := settings.New(settings.Config{}, settings.Options{})
	defer engine.Close(ctx)
	src, err := pgsettings.Open(ctx, dsn, engine, pgsettings.Options{Schema: schema})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close(ctx)

	verbose := settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeUser, ID: "bob", Preset: settings.PresetVerbose}}}
	if _, err := src.Set(ctx, verbose, "alice", "bob reports missing events"); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := src.Set(ctx, settings.Config{}, "alice", "back to standard"); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := src.Revert(ctx, 1, "carol"); err != nil {
		fmt.Println(err)
		return
	}
	history, _ := src.History(ctx, 0)
	for _, v := range history {
		fmt.Printf("version %d by %s: %q (%d rules)\n", v.Version, v.ChangedBy, v.Comment, len(v.Config.Rules))
	}
	x := src.Effective(audit.Subject{UserID: "bob"})
	fmt.Println(x.Why(audit.LevelDebug, ""))
	// Output:
	// version 3 by carol: "revert to version 1" (1 rules)
	// version 2 by alice: "back to standard" (0 rules)
	// version 1 by alice: "bob reports missing events" (1 rules)
	// debug event without a type: store+export, by rules[0] (user "bob", verbose): the verbose preset logs everything
}
