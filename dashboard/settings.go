package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
)

// SettingsStore is a versioned store of the logger settings: the Settings
// view shows its effective settings per user, its rules and its history,
// and, with Options.SettingsWrite, changes and reverts them.
// *pgsettings.Source implements it.
type SettingsStore interface {
	// Effective returns the effective settings of a subject under the
	// policy in force.
	Effective(audit.Subject) settings.Explanation
	// History returns the versions, newest first, at most limit.
	History(ctx context.Context, limit int) ([]pgsettings.Version, error)
	// Set stores p as the new current version, made by by for comment.
	Set(ctx context.Context, p settings.Config, by, comment string) (pgsettings.Version, error)
	// Revert makes the policy of an earlier version current again.
	Revert(ctx context.Context, version int64, by string) (pgsettings.Version, error)
}

// explainer is what *settings.Engine adds to [Settings]: the effective
// settings of a subject.
type explainer interface {
	Explain(audit.Subject) settings.Explanation
}

// historyLimit is how many versions the Settings view lists.
const historyLimit = 50

// maxForm caps the body of a settings change.
const maxForm = 1 << 20

// settingsData is what the Settings view shows.
type settingsData struct {
	Configured bool // Settings or SettingsStore is set
	Versioned  bool // SettingsStore is set: history, and changes with Write
	Write      bool
	Policy     string // the JSON of the policy in force
	Version    int64
	Rules      []ruleRow
	Subject    audit.Subject
	Effective  *effectiveData
	History    []versionRow
	// Token is the form token of the logged-in user; Action the forms'
	// address (the view's, with its filters).
	Token, Action string
	// Edit and Comment fill the edit form: the policy in force, or what a
	// refused change sent. FormErr says why it was refused; Done which
	// version a change made.
	Edit, Comment, FormErr, Done string
}

// ruleRow is a rule of the policy: the preset of a user, group, session,
// package or everyone.
type ruleRow struct {
	Index int
	settings.Rule
	Active bool
	// Effective links the effective settings of the rule's user or group.
	Effective string
}

type effectiveData struct {
	X      settings.Explanation
	Levels []levelRoute
}

// levelRoute is where an event of a level without a listed type goes.
type levelRoute struct {
	Level      audit.Level
	Route, Why string
}

type versionRow struct {
	pgsettings.Version
	Current bool
	Policy  string
}

// settingsPage serves the Settings view (GET) and, with the write option,
// its changes (POST).
func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		h.changeSettings(w, r)
		return
	}
	h.page(w, r, "settings", func(ctx context.Context, h *Handler, f *filter) (any, error) {
		d, err := h.loadSettings(ctx, r, f)
		if err == nil {
			if v := f.Get("done"); v != "" {
				d.Done = "Version " + v + " is now in force."
			}
		}
		return d, err
	})
}

// loadSettings reads what the Settings view shows for the subject of the
// user and group filters.
func (h *Handler) loadSettings(ctx context.Context, r *http.Request, f *filter) (settingsData, error) {
	var d settingsData
	var x explainer
	var pol settings.Config
	switch {
	case h.opts.SettingsStore != nil:
		vs, err := h.opts.SettingsStore.History(ctx, historyLimit)
		if err != nil {
			return d, fmt.Errorf("dashboard: settings history: %w", err)
		}
		for i, v := range vs {
			b, _ := json.MarshalIndent(v.Config, "", "  ")
			d.History = append(d.History, versionRow{Version: v, Current: i == 0, Policy: string(b)})
		}
		if len(vs) > 0 {
			pol = vs[0].Config
		}
		x = storeExplainer{h.opts.SettingsStore}
		d.Versioned, d.Write = true, h.opts.SettingsWrite
	case h.opts.Settings != nil:
		pol = h.opts.Settings.Policy()
		x, _ = h.opts.Settings.(explainer)
	default:
		return d, nil
	}
	d.Configured, d.Version = true, pol.Version
	b, err := json.MarshalIndent(pol, "", "  ")
	if err != nil {
		return d, fmt.Errorf("dashboard: settings: %w", err)
	}
	d.Policy = string(b)
	now := h.opts.Now()
	for i, rule := range pol.Rules {
		row := ruleRow{Index: i, Rule: rule, Active: rule.Expires.IsZero() || now.Before(rule.Expires)}
		switch rule.Scope {
		case settings.ScopeUser:
			row.Effective = f.link("settings", "user", rule.ID, "group", "")
		case settings.ScopeGroup:
			row.Effective = f.link("settings", "user", "", "group", rule.ID)
		}
		d.Rules = append(d.Rules, row)
	}
	d.Subject = h.subject(f)
	if x != nil {
		ex := x.Explain(d.Subject)
		e := &effectiveData{X: ex}
		for _, l := range audit.Levels() {
			e.Levels = append(e.Levels, levelRoute{l, settings.RouteString(ex.Route(l, "")), ex.Why(l, "")})
		}
		d.Effective = e
	}
	if d.Write {
		d.Token = h.formToken(h.opts.User(r))
		d.Action = f.link("settings")
		d.Edit = policyText(pol)
	}
	return d, nil
}

// storeExplainer explains through a SettingsStore.
type storeExplainer struct{ s SettingsStore }

func (e storeExplainer) Explain(s audit.Subject) settings.Explanation { return e.s.Effective(s) }

// subject is the subject of the user and group filters: the user, in the
// group given and in those Options.Groups gives for the user.
func (h *Handler) subject(f *filter) audit.Subject {
	s := audit.Subject{UserID: f.User, Groups: list(f.Group)}
	if f.User != "" && h.opts.Groups != nil {
		for _, g := range h.opts.Groups(f.User) {
			if !slices.Contains(s.Groups, g) {
				s.Groups = append(s.Groups, g)
			}
		}
	}
	return s
}

// policyText is the JSON of a policy as the edit form shows it: without
// its version, which the store assigns.
func policyText(p settings.Config) string {
	p.Version = 0
	b, _ := json.MarshalIndent(p, "", "  ")
	return string(b)
}

// formToken is the token the forms of user carry: an HMAC of the user's
// name under a key made at New, so a page of another site can neither read
// nor forge it.
func (h *Handler) formToken(user string) string {
	m := hmac.New(sha256.New, h.formKey)
	m.Write([]byte("settings\x00" + user))
	return hex.EncodeToString(m.Sum(nil))
}

// changeSettings serves a change of the settings: a new policy
// (action=set: policy, comment) or a revert (action=revert: version), by
// the logged-in user, from a same-origin form with the user's token. A
// change made redirects to the view; one refused shows the view again
// with the reason.
func (h *Handler) changeSettings(w http.ResponseWriter, r *http.Request) {
	if err := h.origins.Check(r); err != nil {
		http.Error(w, "dashboard: cross-origin request refused: "+err.Error(), http.StatusForbidden)
		return
	}
	user := h.opts.User(r)
	if user == "" {
		http.Error(w, "dashboard: no user is logged in: settings changes are attributed to the user", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "dashboard: reading the form: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !hmac.Equal([]byte(r.PostForm.Get("token")), []byte(h.formToken(user))) {
		http.Error(w, "dashboard: the form's token is missing or not this user's: reload the Settings view", http.StatusForbidden)
		return
	}
	f, err := parseFilter(r.URL.Query(), h.opts.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	var v pgsettings.Version
	text, comment := r.PostForm.Get("policy"), strings.TrimSpace(r.PostForm.Get("comment"))
	switch r.PostForm.Get("action") {
	case "set":
		var p settings.Config
		if p, err = settings.Parse([]byte(text)); err == nil {
			if comment == "" {
				err = fmt.Errorf("%w: a comment is required: say why the settings change", errBadRequest)
			} else {
				v, err = h.opts.SettingsStore.Set(ctx, p, user, comment)
			}
		}
	case "revert":
		n, perr := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
		if perr != nil || n <= 0 {
			err = fmt.Errorf("%w: version %q is not a version number", errBadRequest, r.PostForm.Get("version"))
		} else {
			v, err = h.opts.SettingsStore.Revert(ctx, n, user)
		}
	default:
		err = fmt.Errorf("%w: action %q: want set or revert", errBadRequest, r.PostForm.Get("action"))
	}
	if err == nil {
		w.Header().Set("Location", f.link("settings", "done", strconv.FormatInt(v.Version, 10)))
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, settings.ErrInvalidPolicy):
		status = http.StatusBadRequest
	case errors.Is(err, pgsettings.ErrNoVersion):
		status = http.StatusNotFound
	}
	p := h.newPage("settings", f)
	d, lerr := h.loadSettings(ctx, r, f)
	if lerr != nil {
		status, p.Err = errStatus(lerr), lerr.Error()
	} else {
		if r.PostForm.Get("action") == "set" {
			d.Edit, d.Comment = text, comment
		}
		d.FormErr = "Not changed: " + err.Error()
		p.Data = d
	}
	h.render(w, p, status)
}
