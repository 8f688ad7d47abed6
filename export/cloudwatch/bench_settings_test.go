package cloudwatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
	"github.com/auditkit/audit/settings"
)

// BenchmarkSendSettingsBlocks compares a Send by blocks built in Go (the
// anchor) with the same blocks taken from a settings engine, which the
// exporter asks for on every Send.
func BenchmarkSendSettingsBlocks(b *testing.B) {
	engine, err := settings.New(settings.Config{Exports: []settings.ExportBlock{
		{LogGroup: "/bench-errors", Levels: []audit.Level{audit.LevelError}},
		{LogGroup: "/bench"},
	}}, settings.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close(context.Background())
	for _, bc := range []struct {
		name string
		opts cloudwatch.Options
	}{
		{"blocks=code", cloudwatch.Options{Blocks: []cloudwatch.Block{
			{LogGroup: "/bench-errors", Levels: []audit.Level{audit.LevelError}},
			{LogGroup: "/bench"},
		}}},
		{"blocks=settings", cloudwatch.Options{SettingsBlocks: engine.ExportBlocks}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := cloudwatchtest.NewServer(cloudwatchtest.Options{DiscardEvents: true})
			defer srv.Close()
			opts := bc.opts
			opts.Client = srv.Client()
			x, err := cloudwatch.New(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close(context.Background())
			batch := events(512, time.Now(), strings.Repeat("m", 100))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := x.Send(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(x.Stats().Events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
