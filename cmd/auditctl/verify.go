package main

import (
	"context"
	"fmt"
	"os"

	"github.com/auditkit/audit/chain"
)

func runVerify(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", `Check the tamper-evident digest chain (package chain) of the database: every record's hash,
links and signature, and every event against the record of its batch. Prints each problem with its
kind, writer, seq and event id; exits 5 when anything is wrong. --checkpoint compares the chain with
checkpoints kept elsewhere, which detects a chain cut short or rewritten since. --key checks signatures:
a PEM Ed25519 public (or private) key, or an HMAC key file, byte for byte.`)
	since := fs.String("since", "", "check only the records created since (RFC 3339, a date or a duration before now); links are always checked whole")
	keyFile := fs.String("key", "", "`file` of the key that checks the records' signatures")
	cpFile := fs.String("checkpoint", "", "`file` of checkpoints (JSON lines, or the jsonl events of type "+chain.CheckpointType+")")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	var opts chain.VerifyOptions
	if opts.Since, err = parseTime(*since, c.now()); err != nil {
		return usageErrorf("--since: %v", err)
	}
	if opts.Key, err = readChainKey(*keyFile); err != nil {
		return err
	}
	if *cpFile != "" {
		if opts.Checkpoints, err = chain.ReadCheckpoints(*cpFile); err != nil {
			return usageErrorf("--checkpoint: %v", err)
		}
	}
	if err := c.needDB(); err != nil {
		return err
	}
	var store any // the *postgres.Store or *sqlite.Store to verify
	if isPostgres(c.db) {
		s, err := c.openPostgresPool(ctx)
		if err != nil {
			return err
		}
		defer s.Close(context.Background())
		store = s.Store
	} else {
		s, err := c.openSQLite(ctx)
		if err != nil {
			return err
		}
		defer s.Close(context.Background())
		store = s
	}
	r, err := chain.Verify(ctx, store, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		err = writeJSON(c.stdout, r)
	} else {
		for _, p := range r.Problems {
			fmt.Fprintln(c.stdout, clean(p.String()))
		}
		if r.Dropped > 0 {
			fmt.Fprintf(c.stdout, "... and %d more problems\n", r.Dropped)
		}
		status := "OK"
		if !r.OK() {
			status = fmt.Sprintf("FAILED: %d problems", len(r.Problems)+r.Dropped)
		}
		_, err = fmt.Fprintf(c.stdout, "%s: %d writers, %d records (%d signatures checked), %d events checked, %d expired, %d session starts\n",
			status, r.Writers, r.Records, r.Signed, r.Events, r.Expired, r.Started)
	}
	if err == nil && !r.OK() {
		return &exitError{exitTampered, fmt.Errorf("the chain has %d problems", len(r.Problems)+r.Dropped)}
	}
	return err
}

// readChainKey reads the --key file of the digest chain; no file, no key.
func readChainKey(path string) (chain.Key, error) {
	if path == "" {
		return chain.Key{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return chain.Key{}, usageErrorf("--key: %v", err)
	}
	k, err := chain.ParseKey(b)
	if err != nil {
		return chain.Key{}, usageErrorf("--key %s: %v", path, err)
	}
	return k, nil
}
