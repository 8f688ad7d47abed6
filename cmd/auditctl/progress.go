package main

import (
	"fmt"
	"io"
	"strings"
)

// progress draws a progress bar of an export on a terminal, redrawing one
// line with \r. A nil *progress draws nothing (stderr is not a terminal).
type progress struct {
	w     io.Writer
	total int64 // 0: unknown, only the count is shown
	what  string
}

// newProgress returns the progress bar of an export of total items (0 when
// unknown), drawn on c.stderr only when it is a terminal.
func (c *cli) newProgress(total int64, what string) *progress {
	if !c.stderrTTY {
		return nil
	}
	return &progress{w: c.stderr, total: total, what: what}
}

// update redraws the bar at done items.
func (p *progress) update(done int64) {
	if p == nil {
		return
	}
	fmt.Fprint(p.w, "\r"+renderBar(done, p.total, 30, p.what)+"\x1b[K")
}

// finish draws the bar at done and ends its line.
func (p *progress) finish(done int64) {
	if p == nil {
		return
	}
	p.update(done)
	fmt.Fprintln(p.w)
}

// renderBar renders a bar of width cells for done of total items:
// "[=======>      ] 1234/5000 events  24%"; with total unknown (0), or done
// beyond it, the count alone: "1234 events".
func renderBar(done, total int64, width int, what string) string {
	if total <= 0 || done > total {
		return fmt.Sprintf("%d %s", done, what)
	}
	filled := int(done * int64(width) / total)
	var bar string
	switch {
	case filled >= width:
		bar = strings.Repeat("=", width)
	case filled == 0:
		bar = strings.Repeat(" ", width)
	default:
		bar = strings.Repeat("=", filled-1) + ">" + strings.Repeat(" ", width-filled)
	}
	return fmt.Sprintf("[%s] %d/%d %s %3d%%", bar, done, total, what, done*100/total)
}
