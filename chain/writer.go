package chain

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
)

// Key signs records and checks their signatures: an Ed25519 key, or an
// HMAC-SHA256 key. A writer needs Ed25519 (the private key) or HMAC; a
// verifier needs Ed25519Public (or the private key) or the same HMAC key.
type Key struct {
	// Ed25519 signs records (and checks them with its public key).
	Ed25519 ed25519.PrivateKey
	// Ed25519Public checks Ed25519 signatures.
	Ed25519Public ed25519.PublicKey
	// HMAC is a shared secret: records carry HMAC-SHA256(HMAC, hash).
	HMAC []byte
}

func (k Key) zero() bool { return k.Ed25519 == nil && k.Ed25519Public == nil && k.HMAC == nil }

func (k Key) sign(hash []byte) []byte {
	if k.Ed25519 != nil {
		return ed25519.Sign(k.Ed25519, hash)
	}
	m := hmac.New(sha256.New, k.HMAC)
	m.Write(hash)
	return m.Sum(nil)
}

// check reports whether sig is the signature of hash under k.
func (k Key) check(hash, sig []byte) bool {
	switch {
	case k.Ed25519Public != nil:
		return ed25519.Verify(k.Ed25519Public, hash, sig)
	case k.Ed25519 != nil:
		return ed25519.Verify(k.Ed25519.Public().(ed25519.PublicKey), hash, sig)
	}
	return hmac.Equal(k.sign(hash), sig)
}

// ParseKey reads a key file: a PEM Ed25519 private key (PKCS #8, as
// "openssl genpkey -algorithm ed25519" writes it) or public key (PKIX, as
// "openssl pkey -pubout" writes it); any other content is an HMAC key, byte
// for byte.
func ParseKey(data []byte) (Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		if len(data) == 0 {
			return Key{}, errors.New("chain: empty key")
		}
		return Key{HMAC: data}, nil
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return Key{}, fmt.Errorf("chain: key: %w", err)
		}
		if ek, ok := k.(ed25519.PrivateKey); ok {
			return Key{Ed25519: ek}, nil
		}
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return Key{}, fmt.Errorf("chain: key: %w", err)
		}
		if ek, ok := k.(ed25519.PublicKey); ok {
			return Key{Ed25519Public: ek}, nil
		}
	}
	return Key{}, fmt.Errorf("chain: key: PEM %s is not an Ed25519 key", block.Type)
}

// Options configure a [Writer]. The zero value means the defaults.
type Options struct {
	// Writer is the writer id, which names its records. Default: a random
	// id ("w-" and 16 hex digits) per Writer. A configured id must be used
	// by one store at a time; a store restarted with it continues its
	// chain.
	Writer string

	// Key signs each record (Ed25519 or HMAC; see [Key]). Default none:
	// records are linked by hash but not signed.
	Key Key

	// CheckpointEvery emits a checkpoint after every CheckpointEvery
	// records. Default 0: only when [Writer.Checkpoint] is called.
	CheckpointEvery int

	// CheckpointFile is a file that checkpoints are appended to, one JSON
	// object a line; it is created with mode 0600. Default none.
	CheckpointFile string

	// CheckpointSink receives each checkpoint as an event of type
	// [CheckpointType] (level audit), so that CloudWatch or a jsonl file
	// carries it. Default none.
	CheckpointSink audit.Sink

	// OnError is told of a checkpoint that could not be emitted; the
	// checkpoint of the next record is then emitted in its place. Default:
	// logged with slog.Default.
	OnError func(error)

	// Now returns the time of records and checkpoints. Default
	// [time.Now].
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Writer == "" {
		var b [8]byte
		rand.Read(b[:])
		o.Writer = "w-" + hex.EncodeToString(b[:])
	}
	if o.OnError == nil {
		o.OnError = func(err error) { slog.Default().Error(err.Error()) }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) validate() error {
	switch {
	case strings.TrimSpace(o.Writer) != o.Writer || len(o.Writer) > 200:
		return fmt.Errorf("chain: %w: Writer %q has surrounding spaces or is longer than 200 bytes", audit.ErrInvalidOptions, o.Writer)
	case o.CheckpointEvery < 0:
		return fmt.Errorf("chain: %w: CheckpointEvery %d is negative", audit.ErrInvalidOptions, o.CheckpointEvery)
	case o.Key.Ed25519Public != nil && o.Key.Ed25519 == nil:
		return fmt.Errorf("chain: %w: Key has only a public key, which cannot sign", audit.ErrInvalidOptions)
	case o.Key.Ed25519 != nil && len(o.Key.Ed25519) != ed25519.PrivateKeySize:
		return fmt.Errorf("chain: %w: Key.Ed25519 has %d bytes, want %d", audit.ErrInvalidOptions, len(o.Key.Ed25519), ed25519.PrivateKeySize)
	}
	return nil
}

// Writer is the writing end of a digest chain: give it to one store
// (postgres.Options.Chain, sqlite.Options.Chain), which then writes a
// signed, hash-linked record of every batch in the batch's transaction.
type Writer struct {
	opts    Options
	cw      *driver.ChainWriter
	pending *Checkpoint // the last record's checkpoint, not emitted yet
	last    *Checkpoint
	count   int
}

// NewWriter returns a writer.
func NewWriter(opts Options) (*Writer, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	w := &Writer{opts: opts}
	w.cw = &driver.ChainWriter{Writer: opts.Writer, Now: opts.Now, Committed: w.committed}
	if opts.Key.Ed25519 != nil || opts.Key.HMAC != nil {
		w.cw.Sign = opts.Key.sign
	}
	return w, nil
}

// ID returns the writer id.
func (w *Writer) ID() string { return w.opts.Writer }

// Driver returns the state the stores of this module write with.
func (w *Writer) Driver() *driver.ChainWriter { return w.cw }

// committed runs with the chain's lock held after each record commits.
func (w *Writer) committed(ctx context.Context, d *driver.Digest) {
	w.last = checkpointOf(d)
	w.count++
	if w.pending != nil || (w.opts.CheckpointEvery > 0 && w.count%w.opts.CheckpointEvery == 0) {
		w.pending = w.last // a checkpoint not emitted yet gives way to the newer one
		w.emit(ctx)
	}
}

// Checkpoint emits a checkpoint of the last record written to the
// configured destinations now (at shutdown, say), and returns it; nil when
// the writer has written nothing yet.
func (w *Writer) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	w.cw.Mu.Lock()
	defer w.cw.Mu.Unlock()
	if w.last == nil {
		return nil, nil
	}
	w.pending = w.last
	return w.last, w.emit(ctx)
}

func (w *Writer) emit(ctx context.Context) error {
	cp := w.pending
	var errs []error
	if w.opts.CheckpointFile != "" {
		errs = append(errs, AppendCheckpoint(w.opts.CheckpointFile, cp))
	}
	if w.opts.CheckpointSink != nil {
		errs = append(errs, w.opts.CheckpointSink.Send(ctx, []audit.Event{cp.Event()}))
	}
	if err := errors.Join(errs...); err != nil {
		err = fmt.Errorf("chain: checkpoint %s seq %d: %w", cp.Writer, cp.Seq, err)
		w.opts.OnError(err)
		return err
	}
	w.pending = nil
	return nil
}
