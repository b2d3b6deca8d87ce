// Package hcloudsim is a local, in-memory Hetzner Cloud API: an http.Handler
// that speaks the wire format of hcloud-go's schema types under /v1, keeps
// state in memory, runs actions asynchronously, and offers an admin API under
// /_sim/ for request counts and fault injection. Servers may be SSH hosts on
// their own loopback addresses (see Options.SSH).
package hcloudsim

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Options configure a Sim. The zero value serves any non-empty bearer token,
// finishes actions when they are first polled, adds no latency and does not
// rate-limit.
type Options struct {
	// Token, when set, is the only bearer token accepted (else 401 unauthorized).
	Token string
	// ReadOnlyToken, when set, may read; writes with it answer 403 forbidden.
	ReadOnlyToken string
	// ActionDuration is how long an action stays running. Zero: an action is
	// running in the response that starts it and finished when next seen.
	ActionDuration time.Duration
	// Latency is added to every request.
	Latency time.Duration
	// RateLimit is the number of requests per hour, refilled evenly, with a
	// burst of the whole hour. Zero disables rate limiting.
	RateLimit int
	// SSH makes every running server an SSH host on its own loopback address.
	SSH bool
	// SSHPort is the port of the SSH hosts (default 22).
	SSHPort int
	// StateDir holds the servers' directories (DIR/servers/<name>/). Default:
	// a temporary directory removed by Close.
	StateDir string
	// Logf receives log lines; nil discards them.
	Logf func(format string, args ...any)
	// FirstLoopback is the first loopback address handed to servers in SSH
	// mode (default 127.0.0.2).
	FirstLoopback string
}

// Sim is a simulated Hetzner Cloud API. It is safe for concurrent use.
type Sim struct {
	opts       Options
	mux        *http.ServeMux
	patterns   []string // the /v1 routes served, as registered
	maxActions int      // overrides maxFinishedActions in tests
	ownedState bool
	hosts      hostRunner

	mu sync.Mutex
	st *state

	statsMu sync.Mutex
	total   int
	byRoute map[string]int
	faults  []*faultEntry
	// dropped counts the API requests whose connection a fault closed,
	// sftpDrops the SSH connections closed mid-write.
	dropped   int
	sftpDrops int

	limiter *rateLimiter

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New returns a Sim with the catalogue loaded and no resources.
func New(opts Options) *Sim {
	if opts.SSHPort == 0 {
		opts.SSHPort = 22
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	s := &Sim{
		opts:    opts,
		st:      newState(),
		byRoute: map[string]int{},
		stop:    make(chan struct{}),
	}
	if opts.RateLimit > 0 {
		s.limiter = newRateLimiter(opts.RateLimit, time.Now)
	}
	if opts.SSH {
		if s.opts.StateDir == "" {
			dir, err := os.MkdirTemp("", "hcloudsim-")
			if err != nil {
				s.opts.Logf("hcloudsim: state dir: %v", err)
			} else {
				s.opts.StateDir = dir
				s.ownedState = true
			}
		}
		s.hosts = newHostRunner(s.opts, s.dropWrite)
	}
	s.mux = http.NewServeMux()
	s.routes()
	if opts.ActionDuration > 0 {
		s.wg.Add(1)
		go s.tick()
	}
	return s
}

// Close stops the SSH hosts and background work, and removes a state
// directory the Sim created itself.
func (s *Sim) Close() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		if s.hosts != nil {
			s.hosts.closeAll()
		}
		if s.ownedState {
			os.RemoveAll(s.opts.StateDir)
		}
	})
}

// StateDir returns the directory holding the servers' directories.
func (s *Sim) StateDir() string { return s.opts.StateDir }

// tick finishes timed actions even when no client polls them, so servers
// become running (and their SSH hosts start) on their own.
func (s *Sim) tick() {
	defer s.wg.Done()
	period := s.opts.ActionDuration / 4
	if period > 100*time.Millisecond {
		period = 100 * time.Millisecond
	}
	if period < 5*time.Millisecond {
		period = 5 * time.Millisecond
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.advance(time.Now(), false)
			s.mu.Unlock()
		}
	}
}

// ServeHTTP serves /v1 (the API) and /_sim/ (the admin API).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveAdmin(w, r)
		return
	}
	start := time.Now()
	_, pattern := s.mux.Handler(r)
	route := strings.Replace(pattern, "/{id}/{sub}", "/{id}/actions", 1)
	if route == "" {
		route = r.Method + " " + r.URL.Path
	}
	if pattern != "" && strings.HasPrefix(r.URL.Path, "/v1/") {
		s.count(route)
	}
	if s.opts.Latency > 0 {
		sleep(r, s.opts.Latency)
	}
	if s.limiter != nil {
		ok, limit, remaining, reset := s.limiter.take()
		w.Header().Set("RateLimit-Limit", fmt.Sprint(limit))
		w.Header().Set("RateLimit-Remaining", fmt.Sprint(remaining))
		w.Header().Set("RateLimit-Reset", fmt.Sprint(reset))
		if !ok {
			writeError(w, errRateLimit())
			return
		}
	}
	if e := s.authorize(r); e != nil {
		writeError(w, e)
		return
	}
	f := s.matchFault(r.Method, r.URL.Path, route)
	if f != nil {
		if f.latency > 0 {
			sleep(r, f.latency)
		}
		if f.status != 0 {
			writeError(w, &apiError{status: f.status, code: f.code, message: "injected fault"})
			return
		}
		if f.drop == "request" {
			s.dropConn(w)
			return
		}
	}
	if pattern == "" || !strings.HasPrefix(r.URL.Path, "/v1/") {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			other := r.Clone(r.Context())
			other.Method = m
			if _, p := s.mux.Handler(other); p != "" && strings.HasPrefix(r.URL.Path, "/v1/") {
				writeError(w, &apiError{status: 405, code: "method_not_allowed", message: "the request method is not allowed"})
				return
			}
		}
		writeError(w, &apiError{status: 404, code: "not_found", message: "no such route: " + r.Method + " " + r.URL.Path})
		return
	}
	if f != nil && f.actionError {
		r = r.WithContext(withActionError(r.Context()))
	}
	if f != nil && f.drop == "response" {
		s.mux.ServeHTTP(&discardWriter{header: http.Header{}}, r)
		s.dropConn(w)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	s.mux.ServeHTTP(rec, r)
	s.opts.Logf("%s %s %d %s", r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond))
}

// dropConn closes the request's connection without an answer, as a
// network that fails mid-request does.
func (s *Sim) dropConn(w http.ResponseWriter) {
	s.statsMu.Lock()
	s.dropped++
	s.statsMu.Unlock()
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler) // HTTP/2: abort the stream
}

// discardWriter takes an answer nobody will read.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func sleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func (s *Sim) authorize(r *http.Request) *apiError {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return &apiError{status: 401, code: "unauthorized", message: "unable to authenticate"}
	}
	if s.opts.ReadOnlyToken != "" && token == s.opts.ReadOnlyToken {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return &apiError{status: 403, code: "forbidden", message: "insufficient permissions for this request: the token is read-only"}
		}
		return nil
	}
	if s.opts.Token != "" && token != s.opts.Token {
		return &apiError{status: 401, code: "unauthorized", message: "unable to authenticate"}
	}
	return nil
}
