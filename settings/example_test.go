package settings_test

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/settings"
)

func Example() {
	policy, err := settings.Parse([]byte(`{
	  "rules": [
	    {"scope": "everyone", "preset": "standard"},
	    {"scope": "group", "id": "analysts", "preset": "custom", "add": ["click"]},
	    {"scope": "user", "id": "alice", "preset": "verbose", "expires": "2030-01-01T00:00:00Z"}
	  ]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	engine, err := settings.New(policy, settings.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close(context.Background())

	// The Logger asks the engine on every event: audit.New(audit.Options{Policy: engine}).
	for _, s := range []audit.Subject{
		{UserID: "bob"},
		{UserID: "carol", Groups: []string{"analysts"}},
		{UserID: "alice", Groups: []string{"analysts"}},
	} {
		b := engine.Bind(s)
		fmt.Printf("%-5s click: %-12s debug: %s\n", s.UserID,
			settings.RouteString(b.Route(audit.LevelUsage, datagrok.Click)),
			settings.RouteString(b.Route(audit.LevelDebug, "")))
	}
	// Output:
	// bob   click: not logged   debug: not logged
	// carol click: store+export debug: not logged
	// alice click: store+export debug: store+export
}

func ExampleEngine_Explain() {
	engine, _ := settings.New(settings.Config{Rules: []settings.Rule{
		{Scope: settings.ScopeEveryone, Preset: settings.PresetStandard},
		{Scope: settings.ScopeGroup, ID: "devs", Preset: settings.PresetVerbose, Remove: []string{datagrok.Click}},
		{Scope: settings.ScopeUser, ID: "alice", Preset: settings.PresetOff,
			Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Comment: "too noisy this week"},
	}}, settings.Options{})
	defer engine.Close(context.Background())

	x := engine.Explain(audit.Subject{UserID: "alice", Groups: []string{"devs"}})
	fmt.Print(x)
	fmt.Println(x.Why(audit.LevelAudit, datagrok.QueryStart))
	fmt.Println(x.Why(audit.LevelError, audit.TypeError))
	x = engine.Explain(audit.Subject{UserID: "bob", Groups: []string{"devs"}})
	fmt.Println(x.Why(audit.LevelUsage, datagrok.Click))
	fmt.Println(x.Why(audit.LevelWarning, ""))
	// Output:
	// subject: user "alice", groups ["devs"], session "", package ""
	// decided by user: rules[2] (user "alice", off, until 2030-01-01T00:00:00Z)
	// outranked: rules[0] (everyone, standard), rules[1] (group "devs", verbose)
	// events without a listed type: debug=not logged info=not logged warning=not logged error=store+export+print audit=not logged usage=not logged
	// until: 2030-01-01T00:00:00Z
	// audit event of type "query-start": not logged, by rules[2] (user "alice", off, until 2030-01-01T00:00:00Z): the off preset logs nothing but errors
	// error event of type "error": store+export+print, by rules[2] (user "alice", off, until 2030-01-01T00:00:00Z): the off preset keeps errors
	// usage event of type "click": not logged, by rules[1] (group "devs", verbose): removes type "click"
	// warning event without a type: store+export+print, by rules[1] (group "devs", verbose): the verbose preset logs everything
}
