package cloudwatch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
)

// TestRedactedBeforeCloudWatch logs secrets through a Logger with a spool
// and a CloudWatch sink: what CloudWatch receives holds their HMACs, never
// the values.
func TestRedactedBeforeCloudWatch(t *testing.T) {
	srv := cloudwatchtest.NewServer(cloudwatchtest.Options{})
	defer srv.Close()
	sink, err := cloudwatch.New(cloudwatch.Options{
		Blocks: []cloudwatch.Block{{LogGroup: "/redact", Format: cloudwatch.FormatJSON}},
		Client: srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("k3y")
	l, err := audit.New(audit.Options{
		Sinks:      []audit.Sink{sink},
		CloseSinks: true,
		Spool:      &audit.SpoolOptions{Dir: t.TempDir()},
		Redact:     audit.Redact{HMACKey: key},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := l.Log("login", audit.String("user", "alice"), audit.String("password", "s3cr3t"),
			audit.P("request", map[string]any{"headers": map[string]any{"Cookie": "sid=s3cr3t"}, "n": i}),
			map[string]any{"pin": audit.Secret("s3cr3t")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range srv.Streams("/redact") {
		for _, e := range srv.Events("/redact", st) {
			got = append(got, e.Message)
		}
	}
	if len(got) != 3 {
		t.Fatalf("CloudWatch received %d events, want 3", len(got))
	}
	hmac, cookie := audit.RedactHMAC(key, "s3cr3t"), audit.RedactHMAC(key, "sid=s3cr3t")
	for _, m := range got {
		if strings.Contains(m, "s3cr3t") || strings.Count(m, hmac) != 2 || !strings.Contains(m, cookie) ||
			!strings.Contains(m, "alice") {
			t.Errorf("CloudWatch message %s\nwant %s twice, %s once, alice and no secret", m, hmac, cookie)
		}
	}
}
