module github.com/auditkit/audit

go 1.25.0

require github.com/google/uuid v1.6.0
