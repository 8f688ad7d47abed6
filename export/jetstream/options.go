package jetstream

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditkit/audit"
)

// Defaults of [Options] and [CollectorOptions].
const (
	DefaultStream        = "AUDIT"
	DefaultPrefix        = "audit"
	DefaultConsumer      = "audit-collector"
	DefaultMaxPending    = 4096
	DefaultAckTimeout    = 5 * time.Second
	DefaultDuplicates    = 2 * time.Minute
	DefaultConnectWait   = 5 * time.Second
	DefaultFetchSize     = 4096
	DefaultWriters       = 4
	DefaultFetchWait     = time.Second
	DefaultBatchWait     = 5 * time.Millisecond
	DefaultAckWait       = 30 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultMaxAckPending = 50000
)

// Stream describes the JetStream stream the events go to. With Create, the
// sink creates it, or updates it to this configuration; without, it checks
// that the stream exists and deduplicates (a non-zero duplicate window).
type Stream struct {
	// Name is the stream's name. Default "AUDIT".
	Name string
	// Create makes the sink create or update the stream. Default false:
	// the stream must exist (made by an operator, or by another service).
	Create bool
	// Subjects are the stream's subjects. Default the prefix's "<prefix>.>".
	Subjects []string
	// Replicas is the number of copies in a cluster (1, 3 or 5). Default 1.
	Replicas int
	// MaxAge, MaxBytes and MaxMsgs limit what the stream keeps (limits
	// retention: oldest first). Zero means no limit.
	MaxAge   time.Duration
	MaxBytes int64
	MaxMsgs  int64
	// MaxMsgSize is the largest message the stream takes. Zero: the
	// server's limit (max_payload, 1 MiB by default).
	MaxMsgSize int32
	// Duplicates is the duplicate window: a message whose Nats-Msg-Id the
	// stream saw within it is acknowledged and dropped, which makes a
	// retried publish exactly-once. Default 2 minutes.
	Duplicates time.Duration
}

func (s Stream) withDefaults(prefix string) Stream {
	if s.Name == "" {
		s.Name = DefaultStream
	}
	if len(s.Subjects) == 0 {
		s.Subjects = []string{prefix + ".>"}
	}
	if s.Replicas == 0 {
		s.Replicas = 1
	}
	if s.Duplicates == 0 {
		s.Duplicates = DefaultDuplicates
	}
	return s
}

func (s Stream) config() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              s.Name,
		Subjects:          s.Subjects,
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		Replicas:          s.Replicas,
		MaxAge:            s.MaxAge,
		MaxBytes:          orUnlimited(s.MaxBytes),
		MaxMsgs:           orUnlimited(s.MaxMsgs),
		MaxMsgSize:        int32(orUnlimited(int64(s.MaxMsgSize))),
		Duplicates:        s.Duplicates,
		MaxMsgsPerSubject: -1,
		MaxConsumers:      -1,
	}
}

func orUnlimited(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// ensure creates or updates the stream (Create), or checks it.
func (s Stream) ensure(ctx context.Context, js jetstream.JetStream) error {
	if s.Create {
		if _, err := js.CreateOrUpdateStream(ctx, s.config()); err != nil {
			return fmt.Errorf("jetstream: create stream %s: %w", s.Name, err)
		}
		return nil
	}
	st, err := js.Stream(ctx, s.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("jetstream: %w: stream %s does not exist (create it, or set Stream.Create)", audit.ErrInvalidOptions, s.Name)
	}
	if err != nil {
		return fmt.Errorf("jetstream: stream %s: %w", s.Name, err)
	}
	if st.CachedInfo().Config.Duplicates <= 0 {
		return fmt.Errorf("jetstream: %w: stream %s has no duplicate window, so a retried publish could be stored twice", audit.ErrInvalidOptions, s.Name)
	}
	return nil
}

// connect returns conn, or a new connection to url (owned), bounded by
// timeout.
func connect(conn *nats.Conn, urls, name string, timeout time.Duration) (*nats.Conn, bool, error) {
	if conn != nil {
		return conn, false, nil
	}
	if urls == "" {
		return nil, false, fmt.Errorf("jetstream: %w: set URL or Conn", audit.ErrInvalidOptions)
	}
	nc, err := nats.Connect(urls, nats.Name(name), nats.Timeout(timeout),
		nats.FlusherTimeout(timeout), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.RetryOnFailedConnect(false))
	if err != nil {
		return nil, false, fmt.Errorf("jetstream: connect to %s: %w: %w", redactURLs(urls), audit.ErrUnavailable, err)
	}
	return nc, true, nil
}

// Subject returns the default subject of e: "<prefix>.<level>.<type>", each
// token sanitized by [Token].
func Subject(prefix string, e *audit.Event) string {
	return prefix + "." + Token(e.Level.String()) + "." + Token(e.Type)
}

// Token makes s one subject token: spaces, '.', '*', '>' and control
// characters become '_', and an empty s becomes "_".
func Token(s string) string {
	if s == "" {
		return "_"
	}
	if !strings.ContainsFunc(s, badTokenRune) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if badTokenRune(r) {
			return '_'
		}
		return r
	}, s)
}

func badTokenRune(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '.' || r == '*' || r == '>' || r == 0xFFFD
}

// validSubject reports whether s is a publishable subject: non-empty
// tokens without spaces or wildcards.
func validSubject(s string) bool {
	if s == "" {
		return false
	}
	return !slices.ContainsFunc(strings.Split(s, "."), func(tok string) bool {
		return tok == "" || strings.ContainsFunc(tok, badTokenRune)
	})
}

// retry calls fn, each attempt bounded by 2s, until it succeeds, fails with
// an error wrapping [audit.ErrInvalidOptions], or ctx ends. A JetStream API
// request sent while a cluster elects its leader gets no answer: asking
// again soon beats waiting for the whole of ctx.
func retry(ctx context.Context, fn func(ctx context.Context) error) error {
	b := newBackoff()
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := fn(actx)
		cancel()
		if err == nil || errors.Is(err, audit.ErrInvalidOptions) || ctx.Err() != nil {
			return err
		}
		if sleep(ctx, b.next()) != nil {
			return err
		}
	}
}

// redactURLs masks the passwords of comma-separated URLs.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		} else {
			parts[i] = "(malformed URL)"
		}
	}
	return strings.Join(parts, ",")
}
