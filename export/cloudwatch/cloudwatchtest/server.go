package cloudwatchtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// The limits of PutLogEvents, as documented by AWS.
const (
	MaxRequestEvents = 10000
	MaxRequestBytes  = 1048576
	EventOverhead    = 26
	MaxSpan          = 24 * time.Hour
	MaxAge           = 14 * 24 * time.Hour
	MaxAhead         = 2 * time.Hour
)

// Options configures a [Server]. The zero value is a server for us-east-1
// with today's limits and the real clock.
type Options struct {
	// Region is the region the server answers for; requests signed for
	// another region are refused. Default "us-east-1".
	Region string
	// MaxEventSize is the per-event limit: a message's UTF-8 bytes + 26.
	// Default 1,048,576 (1 MiB, the limit since April 2025); set 262,144
	// for the limit before.
	MaxEventSize int
	// Now is the server's clock, used for too-old and too-new events and
	// ingestion times. Default time.Now.
	Now func() time.Time
	// DenyCreateLogGroup makes CreateLogGroup answer AccessDeniedException,
	// as for a role allowed to create streams but not groups.
	DenyCreateLogGroup bool
	// DiscardEvents checks every request as usual but does not keep the
	// events (Events returns none), for benchmarks. Puts are still recorded.
	DiscardEvents bool
}

// Fault is a failure [Server.Inject] makes a call suffer.
type Fault int

// The faults.
const (
	// FaultNone lets the call through; queue it to place a later fault.
	FaultNone Fault = iota
	// FaultThrottle answers 400 ThrottlingException "Rate exceeded".
	FaultThrottle
	// FaultUnavailable answers 500 ServiceUnavailableException.
	FaultUnavailable
	// FaultInternalError answers 500 with a body that is not JSON.
	FaultInternalError
	// FaultReset closes the connection with a TCP reset before processing the call.
	FaultReset
	// FaultDropAfterAccept processes the call (a PutLogEvents stores its events)
	// and then resets the connection instead of answering: the client cannot
	// know the call succeeded, and a retry duplicates the events.
	FaultDropAfterAccept
)

// Event is a log event as the server stored it.
type Event struct {
	Time          time.Time // the event's timestamp (millisecond precision)
	Message       string
	IngestionTime time.Time
}

// Put describes one PutLogEvents call the server answered with 200.
type Put struct {
	Group, Stream string
	// Events and Bytes are the request's size as the service counts it:
	// the number of events and the sum of their UTF-8 bytes + 26.
	Events, Bytes int
	// Rejected is how many of its events were listed in rejectedLogEventsInfo.
	Rejected int
}

type stream struct {
	created time.Time
	events  []Event
}

type group struct {
	retentionDays int
	streams       map[string]*stream
}

// Server is a local CloudWatch Logs. Create one with [NewServer] and stop it
// with [Server.Close].
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:port), the BaseEndpoint
	// to give a client.
	URL string

	opts      Options
	hs        *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	groups   map[string]*group
	faults   map[string][]Fault
	poison   []string
	latency  time.Duration
	calls    map[string]int
	puts     []Put
	requests int
}

// NewServer starts a server on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.MaxEventSize <= 0 {
		opts.MaxEventSize = 1048576
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:   opts,
		groups: map[string]*group{},
		faults: map[string][]Fault{},
		calls:  map[string]int{},
		done:   make(chan struct{}),
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.hs.URL
	return s
}

// Close stops the server and closes its connections; calls waiting out a
// latency end at once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.hs.Close()
}

// Region returns the region the server answers for.
func (s *Server) Region() string { return s.opts.Region }

// Credentials returns the static credentials the clients of [Server.Client]
// and [Server.Config] use.
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKIDCLOUDWATCHTEST", "cloudwatchtest-secret", "")
}

// Config returns an aws.Config that points at the server: its region, static
// credentials, its URL as BaseEndpoint, an HTTP client whose connections
// close with the server, and a standard retryer with millisecond backoffs.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       s.opts.Region,
		Credentials:  s.Credentials(),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.hs.Client(),
		Retryer:      func() aws.Retryer { return fastRetryer() },
	}
}

// Client returns a cloudwatchlogs client for the server, configured as by
// [Server.Config].
func (s *Server) Client() *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(s.Config())
}

func fastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.MaxBackoff = 10 * time.Millisecond
		o.Backoff = retry.NewExponentialJitterBackoff(10 * time.Millisecond)
		o.RateLimiter = ratelimit.None
	})
}

// Inject makes the next n calls of each named operation suffer fault f, in
// order after faults already queued for it. With no operation named, the
// fault applies to PutLogEvents.
func (s *Server) Inject(f Fault, n int, ops ...string) {
	if len(ops) == 0 {
		ops = []string{"PutLogEvents"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range ops {
		for range n {
			s.faults[op] = append(s.faults[op], f)
		}
	}
}

// RejectMessages makes every PutLogEvents request that contains an event
// whose message contains text fail with InvalidParameterException, as the
// service does for an event it refuses: such an event is poison for every
// request it is in.
func (s *Server) RejectMessages(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.poison = append(s.poison, text)
}

// SetLatency makes every call wait d before it is processed.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// CreateGroup creates a log group, as CreateLogGroup would, without a call.
func (s *Server) CreateGroup(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[name] == nil {
		s.groups[name] = &group{streams: map[string]*stream{}}
	}
}

// Events returns a copy of the events stored in a stream, in the order they
// were stored, or nil if the stream does not exist.
func (s *Server) Events(groupName, streamName string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g == nil || g.streams[streamName] == nil {
		return nil
	}
	return append([]Event(nil), g.streams[streamName].events...)
}

// Streams returns the names of the streams of a group, sorted.
func (s *Server) Streams(groupName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupName]
	if g == nil {
		return nil
	}
	var names []string
	for n := range g.streams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Calls returns how many calls of the operation the server received,
// including refused and faulted ones.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Puts returns the PutLogEvents calls answered with 200, in order.
func (s *Server) Puts() []Put {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Put(nil), s.puts...)
}

// apiError is an error answer of the service.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func invalid(format string, args ...any) *apiError {
	return &apiError{400, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	reqID := "cloudwatchtest-" + strconv.Itoa(s.requests)
	latency := s.latency
	s.mu.Unlock()
	w.Header().Set("x-amzn-RequestId", reqID)

	op, aerr := s.checkRequest(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		writeError(w, &apiError{400, "SerializationException", err.Error()})
		return
	}
	s.mu.Lock()
	s.calls[op]++
	var fault Fault
	if q := s.faults[op]; len(q) > 0 {
		fault, s.faults[op] = q[0], q[1:]
	}
	s.mu.Unlock()
	if latency > 0 {
		// With the body read, the request's context ends when the client
		// goes away.
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.done:
			t.Stop()
			return
		}
	}

	switch fault {
	case FaultThrottle:
		writeError(w, &apiError{400, "ThrottlingException", "Rate exceeded"})
		return
	case FaultUnavailable:
		writeError(w, &apiError{500, "ServiceUnavailableException", "The server failed to process the request"})
		return
	case FaultInternalError:
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<html>internal error</html>")
		return
	case FaultReset:
		resetConn(w)
		return
	}

	out, aerr := s.dispatch(op, body)
	if fault == FaultDropAfterAccept {
		resetConn(w)
		return
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	raw, _ := json.Marshal(out)
	w.Write(raw)
}

// checkRequest checks the protocol: method, path, content type, target and
// SigV4 scope. It returns the operation's name.
func (s *Server) checkRequest(r *http.Request) (string, *apiError) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return "", &apiError{400, "UnknownOperationException", r.Method + " " + r.URL.Path}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return "", &apiError{400, "SerializationException", "unexpected Content-Type " + strconv.Quote(ct)}
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "Logs_20140328.")
	if !ok || op == "" {
		return "", &apiError{400, "UnknownOperationException", "bad X-Amz-Target " + strconv.Quote(target)}
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", &apiError{400, "MissingAuthenticationTokenException", "Request is missing Authentication Token"}
	}
	scope := "/" + s.opts.Region + "/logs/aws4_request"
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, scope+",") {
		return "", &apiError{400, "IncompleteSignatureException", "credential scope must end in " + scope}
	}
	return op, nil
}

func (s *Server) dispatch(op string, body []byte) (any, *apiError) {
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogStreamName       string `json:"logStreamName"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		RetentionInDays     int    `json:"retentionInDays"`
		StartFromHead       bool   `json:"startFromHead"`
		LogEvents           []struct {
			Timestamp *int64  `json:"timestamp"`
			Message   *string `json:"message"`
		} `json:"logEvents"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		return nil, &apiError{400, "SerializationException", err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "CreateLogGroup":
		if err := checkGroupName(in.LogGroupName); err != nil {
			return nil, err
		}
		if s.opts.DenyCreateLogGroup {
			return nil, &apiError{400, "AccessDeniedException", "User is not authorized to perform: logs:CreateLogGroup"}
		}
		if s.groups[in.LogGroupName] != nil {
			return nil, &apiError{400, "ResourceAlreadyExistsException", "The specified log group already exists"}
		}
		s.groups[in.LogGroupName] = &group{streams: map[string]*stream{}}
		return struct{}{}, nil
	case "CreateLogStream":
		g, err := s.group(in.LogGroupName)
		if err != nil {
			return nil, err
		}
		if err := checkStreamName(in.LogStreamName); err != nil {
			return nil, err
		}
		if g.streams[in.LogStreamName] != nil {
			return nil, &apiError{400, "ResourceAlreadyExistsException", "The specified log stream already exists"}
		}
		g.streams[in.LogStreamName] = &stream{created: s.opts.Now()}
		return struct{}{}, nil
	case "PutRetentionPolicy":
		g, err := s.group(in.LogGroupName)
		if err != nil {
			return nil, err
		}
		if in.RetentionInDays <= 0 {
			return nil, invalid("retentionInDays must be positive")
		}
		g.retentionDays = in.RetentionInDays
		return struct{}{}, nil
	case "DescribeLogStreams":
		g, err := s.group(in.LogGroupName)
		if err != nil {
			return nil, err
		}
		type desc struct {
			LogStreamName string `json:"logStreamName"`
			CreationTime  int64  `json:"creationTime"`
			StoredBytes   int64  `json:"storedBytes"`
		}
		out := struct {
			LogStreams []desc `json:"logStreams"`
		}{LogStreams: []desc{}}
		for name, st := range g.streams {
			if strings.HasPrefix(name, in.LogStreamNamePrefix) {
				out.LogStreams = append(out.LogStreams, desc{name, st.created.UnixMilli(), 0})
			}
		}
		sort.Slice(out.LogStreams, func(i, j int) bool { return out.LogStreams[i].LogStreamName < out.LogStreams[j].LogStreamName })
		return out, nil
	case "GetLogEvents":
		st, err := s.stream(in.LogGroupName, in.LogStreamName)
		if err != nil {
			return nil, err
		}
		type ev struct {
			Timestamp     int64  `json:"timestamp"`
			Message       string `json:"message"`
			IngestionTime int64  `json:"ingestionTime"`
		}
		out := struct {
			Events            []ev   `json:"events"`
			NextForwardToken  string `json:"nextForwardToken"`
			NextBackwardToken string `json:"nextBackwardToken"`
		}{Events: []ev{}, NextForwardToken: "f/end", NextBackwardToken: "b/start"}
		for _, e := range st.events {
			out.Events = append(out.Events, ev{e.Time.UnixMilli(), e.Message, e.IngestionTime.UnixMilli()})
		}
		return out, nil
	case "PutLogEvents":
		events := make([]Event, len(in.LogEvents))
		for i, e := range in.LogEvents {
			if e.Timestamp == nil || e.Message == nil {
				return nil, invalid("logEvents[%d]: timestamp and message are required", i)
			}
			events[i] = Event{Time: time.UnixMilli(*e.Timestamp).UTC(), Message: *e.Message}
		}
		return s.putLogEvents(in.LogGroupName, in.LogStreamName, events)
	}
	return nil, &apiError{400, "UnknownOperationException", "operation " + op + " is not implemented by cloudwatchtest"}
}

var groupNameRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)

func checkGroupName(name string) *apiError {
	if !groupNameRE.MatchString(name) || strings.HasPrefix(name, "aws/") {
		return invalid("invalid log group name %q", name)
	}
	return nil
}

func checkStreamName(name string) *apiError {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > 512 || !utf8.ValidString(name) || strings.ContainsAny(name, ":*") {
		return invalid("invalid log stream name %q", name)
	}
	return nil
}

func (s *Server) group(name string) (*group, *apiError) {
	if err := checkGroupName(name); err != nil {
		return nil, err
	}
	g := s.groups[name]
	if g == nil {
		return nil, &apiError{400, "ResourceNotFoundException", "The specified log group does not exist."}
	}
	return g, nil
}

func (s *Server) stream(groupName, streamName string) (*stream, *apiError) {
	g, err := s.group(groupName)
	if err != nil {
		return nil, err
	}
	if err := checkStreamName(streamName); err != nil {
		return nil, err
	}
	st := g.streams[streamName]
	if st == nil {
		return nil, &apiError{400, "ResourceNotFoundException", "The specified log stream does not exist."}
	}
	return st, nil
}

// putLogEvents applies the rules of PutLogEvents. s.mu is held.
func (s *Server) putLogEvents(groupName, streamName string, events []Event) (any, *apiError) {
	st, err := s.stream(groupName, streamName)
	if err != nil {
		return nil, err
	}
	if n := len(events); n < 1 || n > MaxRequestEvents {
		return nil, invalid("a request holds 1 to %d log events, not %d", MaxRequestEvents, n)
	}
	total := 0
	for i, e := range events {
		size := len(e.Message) + EventOverhead
		if len(e.Message) == 0 {
			return nil, invalid("logEvents[%d]: the message is empty", i)
		}
		if size > s.opts.MaxEventSize {
			return nil, invalid("logEvents[%d]: event size %d bytes exceeds %d", i, size, s.opts.MaxEventSize)
		}
		if i > 0 && e.Time.Before(events[i-1].Time) {
			return nil, invalid("log events in a single PutLogEvents request must be in chronological order")
		}
		for _, p := range s.poison {
			if strings.Contains(e.Message, p) {
				return nil, invalid("logEvents[%d]: the message is not accepted", i)
			}
		}
		total += size
	}
	if total > MaxRequestBytes {
		return nil, invalid("request size %d bytes exceeds %d", total, MaxRequestBytes)
	}

	// Too old, expired and too new, by the server's clock. Events are in
	// order, so the too-old and expired ones are a prefix and the too-new
	// ones a suffix.
	now := s.opts.Now()
	tooOldEnd, expiredEnd, tooNewStart := 0, 0, len(events)
	for i, e := range events {
		if e.Time.Before(now.Add(-MaxAge)) {
			tooOldEnd = i + 1
		}
		if g := s.groups[groupName]; g.retentionDays > 0 && e.Time.Before(now.AddDate(0, 0, -g.retentionDays)) {
			expiredEnd = i + 1
		}
	}
	for tooNewStart > 0 && events[tooNewStart-1].Time.After(now.Add(MaxAhead)) {
		tooNewStart--
	}
	first := max(tooOldEnd, expiredEnd)
	accepted := events[first:max(first, tooNewStart)]
	if len(accepted) > 0 && accepted[len(accepted)-1].Time.Sub(accepted[0].Time) > MaxSpan {
		return nil, invalid("the log events in a single PutLogEvents request cannot span more than 24 hours")
	}
	if !s.opts.DiscardEvents {
		for _, e := range accepted {
			e.IngestionTime = now
			st.events = append(st.events, e)
		}
	}
	s.puts = append(s.puts, Put{Group: groupName, Stream: streamName, Events: len(events), Bytes: total, Rejected: len(events) - len(accepted)})

	type rejected struct {
		TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
		ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
		TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	}
	out := struct {
		NextSequenceToken     string    `json:"nextSequenceToken"`
		RejectedLogEventsInfo *rejected `json:"rejectedLogEventsInfo,omitempty"`
	}{NextSequenceToken: strconv.Itoa(len(st.events))}
	if len(accepted) < len(events) {
		out.RejectedLogEventsInfo = &rejected{}
		if tooOldEnd > 0 {
			out.RejectedLogEventsInfo.TooOldLogEventEndIndex = &tooOldEnd
		}
		if expiredEnd > 0 {
			out.RejectedLogEventsInfo.ExpiredLogEventEndIndex = &expiredEnd
		}
		if tooNewStart < len(events) {
			out.RejectedLogEventsInfo.TooNewLogEventStartIndex = &tooNewStart
		}
	}
	return out, nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	raw, _ := json.Marshal(map[string]string{"__type": e.code, "message": e.msg})
	w.Write(raw)
}

// resetConn closes the client's connection with a TCP reset and no answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("cloudwatchtest: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
