package cloudwatchtest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newServer(t *testing.T, opts cloudwatchtest.Options) (*cloudwatchtest.Server, *cloudwatchlogs.Client) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return now }
	}
	srv := cloudwatchtest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv, srv.Client()
}

// noRetry makes a call fail on its first error, so tests see what the
// server answered.
func noRetry(o *cloudwatchlogs.Options) { o.Retryer = aws.NopRetryer{} }

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "non-API error: " + err.Error()
	}
	return ""
}

func setup(t *testing.T, c *cloudwatchlogs.Client, group, stream string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &stream}); err != nil {
		t.Fatal(err)
	}
}

func ev(t time.Time, msg string) types.InputLogEvent {
	return types.InputLogEvent{Timestamp: aws.Int64(t.UnixMilli()), Message: aws.String(msg)}
}

func put(c *cloudwatchlogs.Client, events ...types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
	return c.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: events,
	}, noRetry)
}

func TestProtocolChecks(t *testing.T) {
	srv, _ := newServer(t, cloudwatchtest.Options{})
	body := `{"logGroupName":"g"}`
	cases := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"no target", map[string]string{"Content-Type": "application/x-amz-json-1.1", "Authorization": "AWS4-HMAC-SHA256 Credential=A/20250101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=x"}, "UnknownOperationException"},
		{"wrong content type", map[string]string{"Content-Type": "application/json", "X-Amz-Target": "Logs_20140328.CreateLogGroup"}, "SerializationException"},
		{"no authorization", map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.CreateLogGroup"}, "MissingAuthenticationTokenException"},
		{"wrong scope", map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.CreateLogGroup", "Authorization": "AWS4-HMAC-SHA256 Credential=A/20250101/eu-west-1/logs/aws4_request, SignedHeaders=host, Signature=x"}, "IncompleteSignatureException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			http.DefaultClient.CloseIdleConnections()
			if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != tc.want {
				t.Fatalf("got %d %q, want 400 %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), tc.want)
			}
		})
	}
}

func TestGroupsAndStreams(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, cloudwatchtest.Options{})
	_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}, noRetry)
	if code(err) != "ResourceNotFoundException" {
		t.Fatalf("stream in a missing group: %v", err)
	}
	setup(t, c, "g", "s")
	_, err = c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")}, noRetry)
	if code(err) != "ResourceAlreadyExistsException" {
		t.Fatalf("group twice: %v", err)
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}, noRetry)
	if code(err) != "ResourceAlreadyExistsException" {
		t.Fatalf("stream twice: %v", err)
	}
	if _, err := put(c, ev(now, "x")); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("missing"), LogEvents: []types.InputLogEvent{ev(now, "x")}}, noRetry)
	if code(err) != "ResourceNotFoundException" {
		t.Fatalf("put to a missing stream: %v", err)
	}
	out, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})
	if err != nil || len(out.LogStreams) != 1 || *out.LogStreams[0].LogStreamName != "s" {
		t.Fatalf("DescribeLogStreams: %v %+v", err, out)
	}
	got, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	if err != nil || len(got.Events) != 1 || *got.Events[0].Message != "x" || *got.Events[0].Timestamp != now.UnixMilli() {
		t.Fatalf("GetLogEvents: %v %+v", err, got)
	}
}

func TestNames(t *testing.T) {
	ctx := context.Background()
	_, c := newServer(t, cloudwatchtest.Options{})
	for _, name := range []string{"", "aws/lambda", "has space", "bad:colon", strings.Repeat("a", 513)} {
		_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}, noRetry)
		if code(err) != "InvalidParameterException" {
			t.Errorf("group %q: %v", name, err)
		}
	}
	for _, name := range []string{"/app/audit-1", "a.b_c-d#e", strings.Repeat("a", 512)} {
		if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}, noRetry); err != nil {
			t.Errorf("group %q: %v", name, err)
		}
	}
	for _, name := range []string{"", "a:b", "a*b", strings.Repeat("é", 513)} {
		_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/app/audit-1"), LogStreamName: aws.String(name)}, noRetry)
		if code(err) != "InvalidParameterException" {
			t.Errorf("stream %q: %v", name, err)
		}
	}
	for _, name := range []string{"app log/2025", strings.Repeat("é", 512)} {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/app/audit-1"), LogStreamName: aws.String(name)}, noRetry); err != nil {
			t.Errorf("stream %q: %v", name, err)
		}
	}
}

func repeat(n int, f func(i int) types.InputLogEvent) []types.InputLogEvent {
	out := make([]types.InputLogEvent, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestPutLogEventsLimits(t *testing.T) {
	srv, c := newServer(t, cloudwatchtest.Options{MaxEventSize: 262144})
	setup(t, c, "g", "s")
	one := func(int) types.InputLogEvent { return ev(now, "x") }
	// 1,048,576 bytes = 1024 events of 1024 - 26 bytes; multi-byte characters count as bytes.
	fill := func(int) types.InputLogEvent { return ev(now, strings.Repeat("é", 499)) } // 998 bytes + 26
	cases := []struct {
		name   string
		events []types.InputLogEvent
		want   string
	}{
		{"10,000 events", repeat(10000, one), ""},
		{"10,001 events", repeat(10001, one), "InvalidParameterException"},
		{"no events", []types.InputLogEvent{}, "InvalidParameterException"},
		{"exactly 1 MiB", repeat(1024, fill), ""},
		{"1 MiB + 1", append(repeat(1024, fill)[:1023], ev(now, strings.Repeat("é", 499)+"x")), "InvalidParameterException"},
		{"event at the limit", []types.InputLogEvent{ev(now, strings.Repeat("a", 262144-26))}, ""},
		{"event over the limit", []types.InputLogEvent{ev(now, strings.Repeat("a", 262144-25))}, "InvalidParameterException"},
		{"multi-byte event over the limit", []types.InputLogEvent{ev(now, strings.Repeat("€", (262144-26)/3+1))}, "InvalidParameterException"},
		{"empty message", []types.InputLogEvent{ev(now, "")}, "InvalidParameterException"},
		{"equal timestamps", []types.InputLogEvent{ev(now, "a"), ev(now, "b")}, ""},
		{"out of order", []types.InputLogEvent{ev(now, "a"), ev(now.Add(-time.Millisecond), "b")}, "InvalidParameterException"},
		{"span of 24 h", []types.InputLogEvent{ev(now.Add(-24*time.Hour), "a"), ev(now, "b")}, ""},
		{"span over 24 h", []types.InputLogEvent{ev(now.Add(-24*time.Hour-time.Millisecond), "a"), ev(now, "b")}, "InvalidParameterException"},
	}
	stored := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := put(c, tc.events...)
			if code(err) != tc.want {
				t.Fatalf("got %q (%v), want %q", code(err), err, tc.want)
			}
			if err == nil {
				stored += len(tc.events)
			}
			if n := len(srv.Events("g", "s")); n != stored {
				t.Fatalf("%d events stored, want %d: a refused request must store nothing", n, stored)
			}
		})
	}
}

func TestRejectedLogEventsInfo(t *testing.T) {
	srv, c := newServer(t, cloudwatchtest.Options{})
	setup(t, c, "g", "s")
	old := now.Add(-14*24*time.Hour - time.Second)
	future := now.Add(2*time.Hour + time.Second)
	out, err := put(c, ev(old, "old1"), ev(old, "old2"), ev(now.Add(-time.Hour), "ok1"), ev(now.Add(2*time.Hour), "ok2"), ev(future, "new1"))
	if err != nil {
		t.Fatal(err)
	}
	info := out.RejectedLogEventsInfo
	if info == nil || aws.ToInt32(info.TooOldLogEventEndIndex) != 2 || info.ExpiredLogEventEndIndex != nil || aws.ToInt32(info.TooNewLogEventStartIndex) != 4 {
		t.Fatalf("rejectedLogEventsInfo = %+v", info)
	}
	got := srv.Events("g", "s")
	if len(got) != 2 || got[0].Message != "ok1" || got[1].Message != "ok2" {
		t.Fatalf("stored %+v", got)
	}

	// Retention: events older than the group's retention are expired.
	if _, err := c.PutRetentionPolicy(context.Background(), &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	out, err = put(c, ev(now.AddDate(0, 0, -2), "expired"), ev(now, "ok3"))
	if err != nil {
		t.Fatal(err)
	}
	if info := out.RejectedLogEventsInfo; info == nil || aws.ToInt32(info.ExpiredLogEventEndIndex) != 1 || info.TooOldLogEventEndIndex != nil || info.TooNewLogEventStartIndex != nil {
		t.Fatalf("rejectedLogEventsInfo = %+v", out.RejectedLogEventsInfo)
	}
	out, err = put(c, ev(now, "ok4"))
	if err != nil || out.RejectedLogEventsInfo != nil {
		t.Fatalf("all accepted: %v %+v", err, out.RejectedLogEventsInfo)
	}
	// The span rule counts only accepted events.
	if _, err := put(c, ev(old, "old3"), ev(now.Add(-time.Hour), "ok5")); err != nil {
		t.Fatal(err)
	}
}

func TestFaults(t *testing.T) {
	srv, c := newServer(t, cloudwatchtest.Options{DenyCreateLogGroup: true})
	srv.CreateGroup("g")
	if _, err := c.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("other")}, noRetry)
	if code(err) != "AccessDeniedException" {
		t.Fatalf("denied CreateLogGroup: %v", err)
	}

	srv.Inject(cloudwatchtest.FaultThrottle, 1)
	srv.Inject(cloudwatchtest.FaultUnavailable, 1)
	srv.Inject(cloudwatchtest.FaultInternalError, 1)
	srv.Inject(cloudwatchtest.FaultReset, 1)
	srv.Inject(cloudwatchtest.FaultDropAfterAccept, 1)
	if _, err := put(c, ev(now, "a")); code(err) != "ThrottlingException" {
		t.Fatalf("throttle: %v", err)
	}
	if _, err := put(c, ev(now, "b")); code(err) != "ServiceUnavailableException" {
		t.Fatalf("unavailable: %v", err)
	}
	var re interface{ HTTPStatusCode() int }
	if _, err := put(c, ev(now, "c")); !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("internal error: %v", err)
	}
	if _, err := put(c, ev(now, "d")); err == nil || errors.As(err, new(smithy.APIError)) {
		t.Fatalf("reset: %v", err)
	}
	if _, err := put(c, ev(now, "e")); err == nil || errors.As(err, new(smithy.APIError)) {
		t.Fatalf("drop after accept: %v", err)
	}
	if got := srv.Events("g", "s"); len(got) != 1 || got[0].Message != "e" {
		t.Fatalf("only the dropped-after-accept event is stored: %+v", got)
	}
	if _, err := put(c, ev(now, "f")); err != nil {
		t.Fatalf("faults are used up: %v", err)
	}

	srv.RejectMessages("poison")
	if _, err := put(c, ev(now, "ok"), ev(now, "a poison pill")); code(err) != "InvalidParameterException" {
		t.Fatalf("poison: %v", err)
	}
	if got := len(srv.Events("g", "s")); got != 2 {
		t.Fatalf("%d stored", got)
	}
	if n := srv.Calls("PutLogEvents"); n != 7 {
		t.Fatalf("Calls = %d, want 7", n)
	}
}

func TestLatencyHonoursCancel(t *testing.T) {
	srv, c := newServer(t, cloudwatchtest.Options{})
	setup(t, c, "g", "s")
	srv.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(now, "x")}}, noRetry)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	srv.SetLatency(0)
}
