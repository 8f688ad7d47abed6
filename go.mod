module github.com/auditkit/audit

go 1.25.0

require github.com/google/uuid v1.6.0

require (
	github.com/google/go-cmp v0.7.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
)
