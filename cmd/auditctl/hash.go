package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/auditkit/audit"
)

// envHMACKey holds the redaction key when hash is given no --key-file.
const envHMACKey = "AUDIT_HMAC_KEY"

func runHash(_ context.Context, c *cli, args []string) error {
	fs := c.flagSet("[VALUE]", `Print the text that replaces VALUE in events redacted with an HMAC key
(audit.Redact.HMACKey), to search for it: "hmac-sha256:" and the hex HMAC-SHA256
of VALUE. The key is the content of --key-file, byte for byte, or else
$`+envHMACKey+`. Without VALUE, the value is read from stdin, less one trailing
newline, so it stays out of the shell's history.`)
	keyFile := fs.String("key-file", "", "file holding the HMAC key, byte for byte")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErrorf("unexpected argument %q", pos[1])
	}
	var key []byte
	if *keyFile != "" {
		if key, err = os.ReadFile(*keyFile); err != nil {
			return err
		}
	} else {
		key = []byte(c.getenv(envHMACKey))
	}
	if len(key) == 0 {
		return usageErrorf("no key: give --key-file or set $%s", envHMACKey)
	}
	var value string
	if len(pos) == 1 {
		value = pos[0]
	} else {
		b, err := io.ReadAll(c.stdin)
		if err != nil {
			return err
		}
		value = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	_, err = fmt.Fprintln(c.stdout, audit.RedactHMAC(key, value))
	return err
}
