package main

import "testing"

// TestRunLocal runs the example against the local server, as -local does.
func TestRunLocal(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		if err := run(true, "/auditkit/example", format); err != nil {
			t.Fatal(err)
		}
	}
}
