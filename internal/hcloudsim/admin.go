package hcloudsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// Stats are the API requests counted so far: the total and the count per
// method and route template ("GET /v1/servers/{id}").
type Stats struct {
	Total   int            `json:"total"`
	ByRoute map[string]int `json:"by_route"`
	// Dropped counts the API connections a fault closed unanswered;
	// SFTPDrops the SSH connections closed mid-write (SFTPDropAfter).
	Dropped   int `json:"dropped"`
	SFTPDrops int `json:"sftp_drops"`
}

// Fault makes the next Count requests matching Method and Path answer an
// error, wait, or let the action they start end in error.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string `json:"method"`
	// Path is a glob ("/v1/servers*", path.Match syntax plus a trailing "*"
	// matching any rest) or a route template ("/v1/servers/{id}").
	Path string `json:"path"`
	// Count is how many requests the fault applies to (default 1).
	Count int `json:"count"`
	// Status and Code, when Status is set, are the error answered.
	Status int    `json:"status"`
	Code   string `json:"code"`
	// Latency is added before answering ("1s").
	Latency string `json:"latency"`
	// ActionError lets the actions started by the request end in error.
	ActionError bool `json:"action_error"`
	// Drop closes the connection instead of answering: "request" before
	// the request is handled, "response" after (the change is made, its
	// answer lost).
	Drop string `json:"drop"`
	// SFTPDropAfter makes the fault one of the SSH hosts, not of the API:
	// an SFTP write of a file matching Path (the path on the server) that
	// reaches this many bytes closes the SSH connection instead.
	SFTPDropAfter int64 `json:"sftp_drop_after"`
}

type faultEntry struct {
	method      string
	path        string
	remaining   int
	status      int
	code        string
	latency     time.Duration
	actionError bool
	drop        string
	sftpAfter   int64
}

// Stats returns the request counts.
func (s *Sim) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := Stats{Total: s.total, ByRoute: make(map[string]int, len(s.byRoute)), Dropped: s.dropped, SFTPDrops: s.sftpDrops}
	for k, v := range s.byRoute {
		out.ByRoute[k] = v
	}
	return out
}

// ResetStats sets the request counts to zero.
func (s *Sim) ResetStats() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.total = 0
	s.byRoute = map[string]int{}
	s.dropped, s.sftpDrops = 0, 0
}

func (s *Sim) count(route string) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.total++
	s.byRoute[route]++
}

// AddFault arms a fault.
func (s *Sim) AddFault(f Fault) error {
	e := &faultEntry{method: strings.ToUpper(f.Method), path: f.Path, remaining: f.Count, status: f.Status,
		code: f.Code, actionError: f.ActionError, drop: f.Drop, sftpAfter: f.SFTPDropAfter}
	if f.Drop != "" && f.Drop != "request" && f.Drop != "response" {
		return fmt.Errorf("drop %q: want request or response", f.Drop)
	}
	if e.remaining <= 0 {
		e.remaining = 1
	}
	if f.Latency != "" {
		d, err := time.ParseDuration(f.Latency)
		if err != nil {
			return err
		}
		e.latency = d
	}
	if e.path == "" {
		e.path = "*"
	}
	if _, err := path.Match(strings.TrimSuffix(e.path, "*"), ""); err != nil && !strings.Contains(e.path, "{") {
		return err
	}
	if e.status != 0 && e.code == "" {
		e.code = defaultCode(e.status)
	}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.faults = append(s.faults, e)
	return nil
}

// ClearFaults removes all armed faults.
func (s *Sim) ClearFaults() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.faults = nil
}

func defaultCode(status int) string {
	switch status {
	case 400:
		return "json_error"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 409:
		return "conflict"
	case 422:
		return "invalid_input"
	case 423:
		return "locked"
	case 429:
		return "rate_limit_exceeded"
	case 503:
		return "unavailable"
	case 504:
		return "timeout"
	}
	return "server_error"
}

// matchFault consumes one use of the first fault matching the request.
func (s *Sim) matchFault(method, urlPath, pattern string) *faultEntry {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	template := ""
	if _, p, ok := strings.Cut(pattern, " "); ok {
		template = p
	}
	for i, f := range s.faults {
		if f.sftpAfter > 0 || f.method != "" && f.method != method {
			continue
		}
		if !globMatch(f.path, urlPath) && f.path != template {
			continue
		}
		f.remaining--
		if f.remaining <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

// dropWrite reports whether an SFTP write of file that makes it size bytes
// long drops its connection, consuming one use of the matching fault. A
// write crossing the fault's size matches; later writes of the same file
// cannot, as its connection is gone.
func (s *Sim) dropWrite(file string, size int64) bool {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	for i, f := range s.faults {
		if f.sftpAfter == 0 || size < f.sftpAfter || !globMatch(f.path, file) {
			continue
		}
		f.remaining--
		if f.remaining <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		s.sftpDrops++
		return true
	}
	return false
}

// globMatch matches path.Match patterns; a trailing "*" also matches any
// rest including slashes.
func globMatch(pattern, p string) bool {
	if ok, _ := path.Match(pattern, p); ok {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		if !strings.ContainsAny(prefix, "*?[") {
			return strings.HasPrefix(p, prefix)
		}
		for i := len(p); i >= 0; i-- {
			if ok, _ := path.Match(prefix, p[:i]); ok {
				return true
			}
		}
	}
	return false
}

// Calls returns the recorded exec calls of a server's SSH host, by ID or name.
func (s *Sim) Calls(idOrName string) ([]HostCall, bool) {
	s.mu.Lock()
	var id int64
	if n, err := strconv.ParseInt(idOrName, 10, 64); err == nil && s.st.servers[n] != nil {
		id = n
	} else {
		for _, srv := range s.st.servers {
			if srv.name == idOrName {
				id = srv.id
			}
		}
	}
	s.mu.Unlock()
	if id == 0 {
		return nil, false
	}
	if s.hosts == nil {
		return []HostCall{}, true
	}
	return s.hosts.calls(id), true
}

func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/_sim/")
	switch {
	case p == "stats" && r.Method == http.MethodGet:
		writeJSON(w, 200, s.Stats())
	case p == "stats" && r.Method == http.MethodDelete:
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	case p == "faults" && r.Method == http.MethodPost:
		var f Fault
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			writeError(w, errJSON(err))
			return
		}
		if err := s.AddFault(f); err != nil {
			writeError(w, errField("fault", err.Error()))
			return
		}
		writeJSON(w, 201, f)
	case p == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(p, "servers/") && strings.HasSuffix(p, "/calls") && r.Method == http.MethodGet:
		name := strings.TrimSuffix(strings.TrimPrefix(p, "servers/"), "/calls")
		calls, ok := s.Calls(name)
		if !ok {
			writeError(w, errNotFound("server"))
			return
		}
		writeJSON(w, 200, map[string]any{"calls": calls})
	default:
		writeError(w, errNotFound("admin route"))
	}
}
