package analysis

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
)

// FeedRequest filters the log tail ([Analyzer.Feed], [Analyzer.Follow]).
// Zero fields do not filter.
type FeedRequest struct {
	// Scope keeps the events of some users, groups and levels.
	Scope
	// Types keeps events of those record types.
	Types []string
	// Since (inclusive) and Until (exclusive) bound the time. Default: no
	// bound (the newest events, however old).
	Since, Until time.Time
	// Text keeps events whose message contains it, ASCII letters in any
	// case. Default "": no text filter.
	Text string
	// Value keeps events with a param whose value, as text (Datagrok's
	// event_parameter_values.value: "42", "true", an object's id), is
	// Value; with Param set, the param must be named Param. Default "": no
	// param filter (Param alone is refused).
	Param, Value string
	// Limit is the page size of Feed. Default audit.DefaultLimit (100); at
	// most audit.MaxLimit.
	Limit int
	// After continues a Feed listing with older events: pass the previous
	// [FeedPage.Next].
	After string
	// From is where Follow starts: it delivers the events after this
	// position, a [FeedPage.Head]. Default: after the newest matching event
	// when Follow starts.
	From string
}

// FeedPage is one page of the log tail.
type FeedPage struct {
	// Events are newest first, with their params.
	Events []audit.Event `json:"events"`
	// Next continues the listing with older events (FeedRequest.After);
	// empty on the last page.
	Next string `json:"next"`
	// Head is the position of the newest event of the page, to Follow from
	// (FeedRequest.From); empty when the page is empty.
	Head string `json:"head"`
}

// Feed returns the newest events that match req, a page at a time (keyset
// pagination on (event_time, id), newest first).
func (a *Analyzer) Feed(ctx context.Context, req FeedRequest) (FeedPage, error) {
	limit, err := limitOf("Limit", req.Limit, audit.DefaultLimit, audit.MaxLimit)
	if err != nil {
		return FeedPage{}, fmt.Errorf("analysis: feed: %w", err)
	}
	f, ok, err := a.feedFilter(ctx, &req)
	if err != nil || !ok {
		return FeedPage{}, err
	}
	if req.After != "" {
		t, id, err := audit.DecodeCursor(req.After)
		if err != nil {
			return FeedPage{}, fmt.Errorf("analysis: feed: After: %w", err)
		}
		f.Add("(e.event_time, e.id) < (?, ?)", a.d.TimeArg(t), a.d.UUIDArg(id))
	}
	ids, err := a.listIDs(ctx, "feed", f, "DESC", limit+1)
	if err != nil {
		return FeedPage{}, err
	}
	var page FeedPage
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	if page.Events, err = a.loadEvents(ctx, "feed", ids); err != nil {
		return FeedPage{}, err
	}
	if n := len(page.Events); n > 0 {
		page.Head = audit.EncodeCursor(page.Events[0].Time, page.Events[0].ID)
		if more {
			page.Next = audit.EncodeCursor(page.Events[n-1].Time, page.Events[n-1].ID)
		}
	}
	return page, nil
}

// feedFilter builds the filter of req; ok is false when no event can match
// (no user is in the groups).
func (a *Analyzer) feedFilter(ctx context.Context, req *FeedRequest) (*driver.Where, bool, error) {
	f := driver.NewWhere(a.d)
	if !req.Since.IsZero() {
		f.Add("e.event_time >= ?", a.d.TimeArg(driver.CeilMicro(req.Since)))
	}
	if !req.Until.IsZero() {
		f.Add("e.event_time < ?", a.d.TimeArg(driver.CeilMicro(req.Until)))
	}
	f.Levels("e.level", req.Levels)
	f.Types(req.Types)
	if req.Text != "" {
		f.Add(`lower(e.description) LIKE ? ESCAPE '\'`, "%"+likeEscape(strings.ToLower(req.Text))+"%")
	}
	if req.Param != "" && req.Value == "" {
		return nil, false, fmt.Errorf("analysis: feed: %w: Param %q without a Value", ErrInvalidRequest, req.Param)
	}
	if req.Value != "" {
		cond, args := driver.MatchText("v.value", []string{req.Value})
		q := "EXISTS (SELECT 1 FROM " + a.d.Table(driver.TableValues) + " v WHERE v.event_id = e.id AND " + cond
		if req.Param != "" {
			pc, pargs := driver.MatchText("name", []string{req.Param})
			q += " AND v.parameter_id IN (SELECT id FROM " + a.d.Table(driver.TableEventParameters) + " WHERE " + pc + ")"
			args = append(args, pargs...)
		}
		f.Add(q+")", args...)
	}
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return nil, false, err
	}
	sc.apply(f)
	return f, !sc.nobody, nil
}

// likeEscape escapes the wildcards of a LIKE pattern (with ESCAPE '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// Follow calls fn with each new event that matches req, oldest first, as
// it is stored, until ctx ends (it then returns ctx's error) or fn returns
// an error (which it returns). It polls every Options.PollInterval for the
// events after the last one delivered, by (event_time, id): start from a
// [FeedPage.Head] with req.From, or by default after the newest matching
// event when Follow starts. req.Limit and req.After are ignored; group
// membership is asked for each event (the directory's is read when Follow
// starts). Events stored with a time older than
// the last one delivered (another writer's late batch) are not delivered.
func (a *Analyzer) Follow(ctx context.Context, req FeedRequest, fn func(audit.Event) error) error {
	groups := req.Groups
	req.Groups = nil
	f, _, err := a.feedFilter(ctx, &req)
	if err != nil {
		return err
	}
	var dir map[string]bool
	if len(groups) > 0 {
		if dir, err = a.directoryMembers(ctx, groups); err != nil {
			return err
		}
	}
	var pos *position // nil: from the first event
	setPos := func(t time.Time, id uuid.UUID) { pos = &position{t, id} }
	if req.From != "" {
		t, id, err := audit.DecodeCursor(req.From)
		if err != nil {
			return fmt.Errorf("analysis: follow: From: %w", err)
		}
		setPos(t, id)
	} else {
		ids, err := a.listIDs(ctx, "follow", f, "DESC", 1)
		if err != nil {
			return err
		}
		if len(ids) == 1 {
			events, err := a.loadEvents(ctx, "follow", ids)
			if err != nil {
				return err
			}
			if len(events) == 1 {
				setPos(events[0].Time, events[0].ID)
			}
		}
	}
	const batch = 1000
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		for {
			g := f.Clone()
			if pos != nil {
				g.Add("(e.event_time, e.id) > (?, ?)", a.d.TimeArg(pos.t), a.d.UUIDArg(pos.id))
			}
			ids, err := a.listIDs(ctx, "follow", g, "ASC", batch)
			if err != nil {
				return err
			}
			events, err := a.loadEvents(ctx, "follow", ids)
			if err != nil {
				return err
			}
			for _, e := range events {
				setPos(e.Time, e.ID)
				if len(groups) > 0 && !dir[e.UserID] && !a.inGroups(e.UserID, groups) {
					continue
				}
				if err := fn(e); err != nil {
					return err
				}
			}
			if len(ids) < batch {
				break
			}
		}
		timer.Reset(a.opts.PollInterval)
	}
}

// position is a place in the (event_time, id) order of events.
type position struct {
	t  time.Time
	id uuid.UUID
}
