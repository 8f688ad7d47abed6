package main

import "testing"

// TestWithSSLMode checks that verify's pgx connection gets lib/pq's
// default sslmode unless the DSN sets one.
func TestWithSSLMode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u@h/db", "postgres://u@h/db?sslmode=require"},
		{"postgres://u@h/db?connect_timeout=5", "postgres://u@h/db?connect_timeout=5&sslmode=require"},
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable"},
		{"host=h dbname=db", "host=h dbname=db sslmode=require"},
		{"host=h SSLMODE=verify-full", "host=h SSLMODE=verify-full"},
	} {
		if got := withSSLMode(tc.in, "require"); got != tc.want {
			t.Errorf("withSSLMode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
