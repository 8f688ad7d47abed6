package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// DefaultConnectTimeout bounds setting up a connection (TCP connect, TLS and
// the startup handshake) when the DSN has no connect_timeout (and
// PGCONNECT_TIMEOUT is unset). Without a bound, a server that accepts TCP and
// never answers would hold a connection attempt forever: lib/pq does not
// watch the context during the handshake.
const DefaultConnectTimeout = 10 * time.Second

// connect opens a pool on dsn whose connection set-up ends by the earlier
// of the connect timeout and the deadline of the context that asked for
// the connection.
func connect(dsn string) (*sqlx.DB, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	c, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	c.Dialer(deadlineDialer{})
	return sqlx.NewDb(sql.OpenDB(c), "postgres"), nil
}

// deadlineDialer dials with the context lib/pq gives it, which carries the
// connect timeout and the caller's deadline, and makes the handshake that
// follows keep that deadline too (see setupConn).
type deadlineDialer struct{ d net.Dialer }

func (d deadlineDialer) Dial(network, address string) (net.Conn, error) {
	return d.d.Dial(network, address)
}

func (d deadlineDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	limit, ok := ctx.Deadline()
	if !ok {
		return c, nil
	}
	return &setupConn{Conn: c, limit: limit}, nil
}

// setupConn is a connection whose set-up must end by limit. lib/pq sets a
// deadline of its own connect timeout for the handshake and clears it
// afterwards: until it is cleared, setupConn keeps the earlier of the two.
type setupConn struct {
	net.Conn
	mu    sync.Mutex
	limit time.Time // zero once set-up is over
}

func (c *setupConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	switch {
	case t.IsZero():
		c.limit = time.Time{} // set-up is over: deadlines are the caller's
	case !c.limit.IsZero() && c.limit.Before(t):
		t = c.limit
	}
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}
