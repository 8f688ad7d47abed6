// Command httpservice is a small HTTP service that gets its audit trail from
// the ways Go services already work: its slog calls (auditslog), its
// net/http server (audithttp), its function calls ([audit.Do],
// [audit.Logger.Call]) and its background goroutines ([audit.Logger.Go]).
// Events go to an in-memory store, and those that settings route to print
// (all of them, by default) also to the service's own log on stderr
// (Options.Printer). It serves the audit trail back as two tables.
//
//	go run ./examples/httpservice [-addr 127.0.0.1:8080]
//
// Then, in another terminal (X-User stands in for real authentication):
//
//	curl -H 'X-User: ann' localhost:8080/items/7
//	curl -H 'X-User: ann' -X POST 'localhost:8080/transfer?to=bob&amount=30'
//	curl -H 'X-User: ann' -X POST 'localhost:8080/transfer?to=bob&amount=-1'   # fails
//	curl -H 'X-User: ann' localhost:8080/balance
//	curl -H 'X-User: bob' localhost:8080/boom                                  # panics: 500
//	curl -H 'X-User: ann' -X POST 'localhost:8080/reindex?fail=panic'          # background job
//	curl localhost:8080/audit/calls         # users, times, inputs and outputs of every call
//	curl localhost:8080/audit/performance   # how long each route and function takes
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/audithttp"
	"github.com/auditkit/audit/auditslog"
	"github.com/auditkit/audit/store/memory"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpservice:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "httpservice: listening on http://%s\n", ln.Addr())
	if err := run(ctx, ln, memory.New(memory.Options{}), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "httpservice:", err)
		os.Exit(1)
	}
}

// run serves on ln until ctx ends, then shuts down: the server stops taking
// requests, background jobs finish, and the audit Logger is closed, which
// writes every event to store. The service's own log goes to logOut.
func run(ctx context.Context, ln net.Listener, store *memory.Store, logOut io.Writer) error {
	ownLog := slog.New(slog.NewTextHandler(logOut, nil))
	logger, err := audit.New(audit.Options{
		Store:   store,
		Printer: ownLog, // audit -> slog: operators see the events in the service's log
		Params:  map[string]any{"service": "httpservice"},
		// The handlers' own events get the request's request_id and
		// client_ip, as the request events have.
		Callback: audithttp.RequestParams,
	})
	if err != nil {
		return err
	}
	s := newService(logger, store)
	srv := &http.Server{Handler: s.routes(), ErrorLog: slog.NewLogLogger(ownLog.Handler(), slog.LevelError)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var errs []error
	select {
	case err := <-served:
		errs = append(errs, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		errs = append(errs, err)
	}
	s.jobs.Wait()
	if err := logger.Close(shutdown); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// service is the application: accounts with balances, items, and a
// background reindex job.
type service struct {
	logger *audit.Logger
	store  audit.Reader
	log    *slog.Logger // slog -> audit: the service's slog calls are audit events

	mu       sync.Mutex
	balances map[string]int
	jobs     sync.WaitGroup
}

func newService(logger *audit.Logger, store audit.Reader) *service {
	return &service{
		logger:   logger,
		store:    store,
		log:      slog.New(auditslog.NewHandler(logger, nil)),
		balances: map[string]int{},
	}
}

// routes returns the service's handler: the application's authentication,
// then the audit middleware, then the routes.
func (s *service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", s.getItem)
	mux.HandleFunc("POST /transfer", s.transfer)
	mux.HandleFunc("GET /balance", s.balance)
	mux.HandleFunc("GET /boom", s.boom)
	mux.HandleFunc("POST /reindex", s.reindex)
	mux.HandleFunc("GET /audit/calls", s.calls)
	mux.HandleFunc("GET /audit/performance", s.performance)
	audited := audithttp.Middleware(s.logger, &audithttp.Options{
		Subject: func(r *http.Request) audit.Subject {
			sess, _ := r.Context().Value(sessionKey{}).(session)
			return audit.Subject{UserID: sess.user, SessionID: sess.id}
		},
	})
	return authenticate(audited(mux))
}

// session is what the application's authentication knows of a request.
type session struct{ user, id string }

type sessionKey struct{}

// authenticate stands in for real authentication: it trusts the X-User
// header, and the session is the X-Session header or one per user.
func authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user := r.Header.Get("X-User"); user != "" {
			id := r.Header.Get("X-Session")
			if id == "" {
				id = "session-" + user
			}
			r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, session{user, id}))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *service) getItem(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// A plain slog call, attributed through the request context.
	s.log.InfoContext(r.Context(), "item viewed",
		auditslog.Type("item-viewed"), auditslog.Level(audit.LevelAudit),
		"item", audit.Ref("item", id))
	fmt.Fprintf(w, "item %s\n", id)
}

// errInsufficientFunds is returned by a transfer larger than the balance.
var errInsufficientFunds = errors.New("insufficient funds")

func (s *service) transfer(w http.ResponseWriter, r *http.Request) {
	from, _ := r.Context().Value(sessionKey{}).(session)
	to := r.FormValue("to")
	amount, err := strconv.Atoi(r.FormValue("amount"))
	if err != nil || from.user == "" || to == "" {
		http.Error(w, "want a user, ?to=user&amount=n", http.StatusBadRequest)
		return
	}
	// One event for the call: inputs, outputs, duration, and the error if
	// it fails.
	call := s.logger.Call(r.Context(), "transfer", map[string]any{"to": audit.Ref("user", to), "amount": amount})
	balance, err := s.move(from.user, to, amount)
	call.Output("balance", balance)
	_ = call.End(nil, err)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "balance %d\n", balance)
}

func (s *service) move(from, to string, amount int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bal := s.balanceLocked(from)
	switch {
	case amount <= 0:
		return bal, fmt.Errorf("amount must be positive, got %d", amount)
	case amount > bal:
		return bal, errInsufficientFunds
	}
	s.balances[from] = bal - amount
	s.balances[to] = s.balanceLocked(to) + amount
	return s.balances[from], nil
}

// balanceLocked returns a user's balance; every account opens with 100.
func (s *service) balanceLocked(user string) int {
	b, ok := s.balances[user]
	if !ok {
		b = 100
		s.balances[user] = b
	}
	return b
}

func (s *service) balance(w http.ResponseWriter, r *http.Request) {
	sess, _ := r.Context().Value(sessionKey{}).(session)
	// audit.Do records the call, with its result, in one line.
	bal, _ := audit.Do(r.Context(), s.logger, "balance", map[string]any{"user": sess.user},
		func(context.Context) (int, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.balanceLocked(sess.user), nil
		})
	fmt.Fprintf(w, "balance %d\n", bal)
}

func (s *service) boom(w http.ResponseWriter, r *http.Request) {
	var cache map[string]int
	cache["hits"]++ // a bug: the middleware recovers it into an error event and a 500
}

func (s *service) reindex(w http.ResponseWriter, r *http.Request) {
	fail := r.FormValue("fail")
	s.jobs.Add(1)
	// The job outlives the request, but stays attributed to its user.
	done := s.logger.Go(context.WithoutCancel(r.Context()), "reindex", func(ctx context.Context) error {
		s.log.InfoContext(ctx, "reindex started")
		switch fail {
		case "panic":
			var index []string
			_ = index[3] // recovered and recorded by Logger.Go
		case "error":
			return errors.New("index store unavailable") // recorded by Logger.Go
		}
		return nil
	})
	go func() { <-done; s.jobs.Done() }()
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "reindex started")
}

// events returns the stored events that q matches, oldest first, after
// flushing the Logger so that everything logged so far is there.
func (s *service) events(ctx context.Context, q audit.Query) ([]audit.Event, error) {
	if err := s.logger.Flush(ctx); err != nil {
		return nil, err
	}
	var all []audit.Event
	for {
		page, err := s.store.Read(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Events...)
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	slices.Reverse(all)
	return all, nil
}

// calls writes the table of function calls: user, time, function, inputs,
// outputs, duration and error.
func (s *service) calls(w http.ResponseWriter, r *http.Request) {
	evs, err := s.events(r.Context(), audit.Query{Types: []string{audit.TypeFunctionCall}})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tTIME\tFUNCTION\tINPUTS\tOUTPUTS\tTOOK\tERROR")
	for _, e := range evs {
		var in, out []string
		for _, p := range e.Params {
			if k, ok := strings.CutPrefix(p.Key, audit.InputPrefix); ok {
				in = append(in, k+"="+p.Value.String())
			} else if k, ok := strings.CutPrefix(p.Key, audit.OutputPrefix); ok {
				out = append(out, k+"="+p.Value.String())
			}
		}
		fn, _ := e.Param(audit.FunctionParam)
		errText := ""
		if e.IsError() {
			errText = e.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.UserID, e.Time.Format(time.RFC3339), fn,
			strings.Join(in, " "), strings.Join(out, " "), e.Duration.Round(time.Microsecond), errText)
	}
	_ = tw.Flush()
}

// performance writes, per route and per function: how many calls, the
// median and 95th percentile of their durations, and how many failed
// (status >= 400 for routes).
func (s *service) performance(w http.ResponseWriter, r *http.Request) {
	evs, err := s.events(r.Context(), audit.Query{Types: []string{audit.TypeHTTPRequest, audit.TypeFunctionCall}})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	type stat struct {
		durations []time.Duration
		failed    int
	}
	stats := map[string]*stat{}
	for _, e := range evs {
		name := e.Message // "GET /items/{id}"
		failed := e.IsError()
		if e.Type == audit.TypeFunctionCall {
			fn, _ := e.Param(audit.FunctionParam)
			name = "func " + fn.String()
		} else if st, ok := e.Param(audithttp.StatusParam); ok && st.Int64() >= 400 {
			failed = true
		}
		st := stats[name]
		if st == nil {
			st = &stat{}
			stats[name] = st
		}
		st.durations = append(st.durations, e.Duration)
		if failed {
			st.failed++
		}
	}
	names := slices.Sorted(maps.Keys(stats))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATION\tCOUNT\tP50\tP95\tFAILED")
	for _, name := range names {
		st := stats[name]
		slices.Sort(st.durations)
		pct := func(p float64) time.Duration { return st.durations[int(p*float64(len(st.durations)-1))] }
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\n", name, len(st.durations), pct(0.5), pct(0.95), st.failed)
	}
	_ = tw.Flush()
}
