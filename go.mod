module github.com/auditkit/audit

go 1.25.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/google/uuid v1.6.0
	github.com/jmoiron/sqlx v1.4.0
	github.com/lib/pq v1.12.3
	go.uber.org/goleak v1.3.0
)
