package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fleetctl/fleetctl/spec"
)

// Status is one look at a running fleet: the manager, gitlab-runner on it,
// each runner's instances against what its policy asks for now, and what
// it all costs. It is data; planview renders it.
type Status struct {
	Fleet string    `json:"fleet"`
	At    time.Time `json:"at"`
	// Manager is nil when the fleet has no manager server.
	Manager *ManagerStatus       `json:"manager"`
	Service *RunnerServiceStatus `json:"gitlab_runner"`
	Runners []RunnerStatus       `json:"runners"`
	Cost    *StatusCost          `json:"cost"`
	// NotSeen says what status could not see and why (no SSH key, a
	// read-only token is fine).
	NotSeen []Note `json:"not_seen"`
	// Requests are the API requests this look took (-1 when unknown).
	Requests int64 `json:"requests"`
}

// ManagerStatus is the manager server as Hetzner and SSH see it.
type ManagerStatus struct {
	Name       string    `json:"name"`
	ID         int64     `json:"id"`
	ServerType string    `json:"server_type"`
	Location   string    `json:"location"`
	IPv4       string    `json:"ipv4,omitempty"`
	IPv6       string    `json:"ipv6,omitempty"`
	Status     string    `json:"status"`
	Created    time.Time `json:"created"`
	// HostKey is "matches", "MISMATCH" or "not checked".
	HostKey string `json:"host_key"`
	// Changes counts the plan's changes to the manager and its files:
	// 0 means it is as fleet.yaml says (of what could be compared).
	Changes int `json:"pending_changes"`
}

// RunnerServiceStatus is gitlab-runner on the manager, read over SSH.
type RunnerServiceStatus struct {
	// State is systemd's ActiveState: active, inactive, failed, …
	State   string `json:"state"`
	Version string `json:"version,omitempty"`
	// Since is when the service last (re)started, zero when unknown.
	Since time.Time `json:"since,omitzero"`
	// ConfigTOML is "in sync", "drifted" or "not compared: why".
	ConfigTOML string `json:"config_toml"`
	// ConfigWritten is config.toml's modification time on the manager.
	ConfigWritten time.Time `json:"config_written,omitzero"`
}

// RunnerStatus is one runner's autoscaled instances.
type RunnerStatus struct {
	Name string `json:"name"`
	// Instances counts instances by state: creating, running, off,
	// deleting, other.
	Instances map[string]int `json:"instances"`
	Total     int            `json:"total"`
	// Oldest is the creation time of the oldest instance.
	Oldest       time.Time   `json:"oldest,omitzero"`
	MaxInstances int         `json:"max_instances"`
	Policy       PolicyMatch `json:"policy"`
	// IdleFloor is the instances the policy in effect keeps idle now.
	IdleFloor int `json:"idle_floor"`
	// Jobs is the jobs running now from gitlab-runner's metrics, nil when
	// unknown (JobsUnknown says why).
	Jobs        *int   `json:"jobs"`
	JobsUnknown string `json:"jobs_unknown,omitempty"`
}

// StatusCost is what the servers that exist now cost.
type StatusCost struct {
	Currency string `json:"currency"`
	VATRate  string `json:"vat_rate"`
	// Hourly is the sum of the hourly rates of every server and primary
	// IP that exists now; Monthly what a month at that rate costs, each
	// resource capped at its monthly price.
	Hourly  Price `json:"hourly"`
	Monthly Price `json:"monthly"`
	// Missing lists prices Hetzner does not state; the sums leave them out.
	Missing     []string `json:"missing,omitempty"`
	Unavailable string   `json:"unavailable,omitempty"`
}

// instanceState groups Hetzner's server statuses as status shows them.
func instanceState(hetzner string) string {
	switch hetzner {
	case "initializing", "starting":
		return "creating"
	case "running":
		return "running"
	case "off", "stopping":
		return "off"
	case "deleting":
		return "deleting"
	}
	return "other"
}

// Status reads the fleet as plan does (the same few list requests, and
// GET /pricing), then asks the manager over SSH how gitlab-runner is.
// Without the SSH key it says what it could not see.
func (s *Session) Status(ctx context.Context, now time.Time) (*Status, error) {
	st, err := s.status(ctx, now)
	return st, s.finish(err)
}

func (s *Session) status(ctx context.Context, now time.Time) (*Status, error) {
	before := s.Requests()
	p, obs, err := s.observe(ctx, false)
	if err != nil {
		return nil, err
	}
	st := &Status{Fleet: s.Fleet.Name, At: now.UTC(), Runners: []RunnerStatus{}, NotSeen: []Note{}}
	var mgr *Server
	for i, srv := range obs.live.Servers {
		if isManagedRole(srv.Labels, RoleManager) && srv.Name == obs.desired.Manager.Name {
			mgr = &obs.live.Servers[i]
		}
	}
	if mgr != nil {
		st.Manager = &ManagerStatus{Name: mgr.Name, ID: mgr.ID, ServerType: mgr.ServerType, Location: mgr.Location,
			IPv4: mgr.IPv4, IPv6: mgr.IPv6, Status: mgr.Status, Created: mgr.Created.UTC(), HostKey: "not checked"}
		for _, ch := range p.Changes {
			if ch.Action != NoOp && (ch.Addr.Kind() == KindServer || ch.Addr.Kind() == KindFile || ch.Addr.Kind() == KindService) {
				st.Manager.Changes++
			}
		}
		st.Service = &RunnerServiceStatus{State: "unknown", ConfigTOML: configTOMLState(p)}
	}
	st.Runners = runnerStatuses(s.Fleet, obs, now)
	var files Files
	if mgr != nil {
		files = s.connectForStatus(ctx, obs.desired.Manager, *mgr, st)
	}
	if files != nil {
		defer files.Close()
		s.readService(ctx, files, st)
		for _, f := range obs.desired.Files {
			if f.Addr == AddrConfigTOML {
				if info, err := files.Stat(ctx, f.Path); err == nil {
					st.Service.ConfigWritten = info.ModTime().UTC()
				}
			}
		}
		s.readJobs(ctx, files, st)
	} else {
		for i := range st.Runners {
			st.Runners[i].JobsUnknown = "the manager could not be reached over SSH"
		}
	}
	st.Cost = statusCost(obs)
	if n := s.Requests(); n >= 0 && before >= 0 {
		st.Requests = n - before
	} else {
		st.Requests = -1
	}
	return st, nil
}

// configTOMLState words the plan's view of config.toml.
func configTOMLState(p *Plan) string {
	for _, n := range p.NotCompared {
		if n.Subject == string(AddrConfigTOML) {
			return "not compared: " + n.Message
		}
	}
	ch := p.Change(AddrConfigTOML)
	switch {
	case ch == nil:
		return "not compared"
	case ch.Action == NoOp:
		return "in sync"
	case ch.Action == Create:
		return "missing"
	}
	return "drifted"
}

// statusScript asks for everything in one SSH command: the service's
// state and last start and the installed version.
const statusScript = `systemctl show gitlab-runner -p ActiveState -p ActiveEnterTimestamp 2>/dev/null
echo "ActiveStateFallback=$(systemctl is-active gitlab-runner 2>/dev/null)"
echo "Version=$(gitlab-runner --version 2>/dev/null | sed -n 's/^Version: *//p')"`

// connectForStatus opens SSH to the manager, verifying its host key, or
// notes why not and returns nil.
func (s *Session) connectForStatus(ctx context.Context, m DesiredServer, srv Server, st *Status) Files {
	if s.Connector == nil {
		st.NotSeen = append(st.NotSeen, Note{Subject: "gitlab-runner", Message: s.NoConnectorReason})
		st.Service.State = "unknown (no SSH)"
		return nil
	}
	files, err := s.Connector.Connect(ctx, ManagerEndpoint(m, srv), false)
	if err != nil {
		var mismatch *HostKeyMismatchError
		if errors.As(err, &mismatch) {
			st.Manager.HostKey = "MISMATCH"
			st.NotSeen = append(st.NotSeen, Note{Subject: "gitlab-runner", Message: "the manager's host key does not match its label; fleetctl did not connect"})
		} else {
			st.NotSeen = append(st.NotSeen, Note{Subject: "gitlab-runner", Message: s.opts.Secrets.Redact(err.Error())})
		}
		st.Service.State = "unknown (no SSH)"
		return nil
	}
	st.Manager.HostKey = "matches"
	return files
}

func (s *Session) readService(ctx context.Context, files Files, st *Status) {
	out, _, err := files.Run(ctx, statusScript)
	if err != nil {
		st.NotSeen = append(st.NotSeen, Note{Subject: "gitlab-runner", Message: s.opts.Secrets.Redact(err.Error())})
		return
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			kv[k] = v
		}
	}
	svc := st.Service
	svc.State = kv["ActiveState"]
	if svc.State == "" {
		svc.State = kv["ActiveStateFallback"]
	}
	if svc.State == "" {
		svc.State = "unknown"
	}
	svc.Version = kv["Version"]
	if t, err := time.Parse("Mon 2006-01-02 15:04:05 MST", kv["ActiveEnterTimestamp"]); err == nil {
		svc.Since = t.UTC()
	}
}

// readJobs reads gitlab_runner_jobs from gitlab-runner's metrics on the
// manager, where listen_address is set.
func (s *Session) readJobs(ctx context.Context, files Files, st *Status) {
	addr := s.Fleet.GitLabRunner.ListenAddress
	if addr == "" {
		for i := range st.Runners {
			st.Runners[i].JobsUnknown = "gitlab_runner.listen_address is not set, so gitlab-runner serves no metrics"
		}
		return
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	unknown := func(why string) {
		for i := range st.Runners {
			st.Runners[i].JobsUnknown = why
		}
	}
	url := "http://" + net.JoinHostPort(host, port) + "/metrics"
	out, _, err := files.Run(ctx, "curl -fsS --max-time 5 "+url+" 2>/dev/null || wget -qO- -T 5 "+url)
	if err != nil || len(out) == 0 {
		unknown("the metrics at " + url + " could not be read on the manager")
		return
	}
	jobs := parseRunningJobs(string(out))
	for i := range st.Runners {
		n := jobs[st.Runners[i].Name]
		st.Runners[i].Jobs = &n
	}
}

// parseRunningJobs sums gitlab_runner_jobs by runner_name from
// Prometheus' text format.
func parseRunningJobs(metrics string) map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(line, "gitlab_runner_jobs{") {
			continue
		}
		end := strings.LastIndex(line, "}")
		if end < 0 {
			continue
		}
		labels, value := line[len("gitlab_runner_jobs{"):end], strings.TrimSpace(line[end+1:])
		name := ""
		for _, l := range strings.Split(labels, ",") {
			if k, v, ok := strings.Cut(l, "="); ok && k == "runner_name" {
				name = strings.Trim(v, `"`)
			}
		}
		if f, err := strconv.ParseFloat(strings.Fields(value + " 0")[0], 64); err == nil && name != "" {
			out[name] += int(f)
		}
	}
	return out
}

func runnerStatuses(f *spec.Fleet, obs *observed, now time.Time) []RunnerStatus {
	var instances []Server
	for _, srv := range obs.live.Servers {
		if !isManagedRole(srv.Labels, RoleManager) && srv.Labels[spec.LabelRunner] != "" {
			instances = append(instances, srv)
		}
	}
	out := []RunnerStatus{}
	for _, rn := range f.GitLabRunner.Runners {
		if rn.Autoscaler == nil {
			continue
		}
		rs := RunnerStatus{Name: rn.Name, Instances: map[string]int{"creating": 0, "running": 0, "off": 0, "deleting": 0},
			MaxInstances: rn.Autoscaler.MaxInstances}
		count := func(srv Server) {
			state := instanceState(srv.Status)
			rs.Instances[state]++
			rs.Total++
			if rs.Oldest.IsZero() || (!srv.Created.IsZero() && srv.Created.Before(rs.Oldest)) {
				rs.Oldest = srv.Created.UTC()
			}
		}
		for _, srv := range instances {
			if srv.Labels[spec.LabelRunner] == rn.Name {
				count(srv)
			}
		}
		for _, srv := range obs.live.UpstreamInstances {
			if g, ok := upstreamGroupOf(obs.desired.UpstreamGroups, srv); ok && g.Runner == rn.Name {
				count(srv)
			}
		}
		rs.IdleFloor, rs.Policy = FloorInstancesAt(rn.Autoscaler, now)
		out = append(out, rs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// statusCost prices every server of the fleet that exists now, with its
// primary IPs.
func statusCost(obs *observed) *StatusCost {
	if obs.prices == nil {
		return &StatusCost{Unavailable: "Hetzner's prices could not be read"}
	}
	c := &StatusCost{Currency: obs.prices.Currency, VATRate: obs.prices.VATRate}
	servers := append(append([]Server(nil), obs.live.Servers...), obs.live.UpstreamInstances...)
	for _, srv := range servers {
		r, err := serverRate(obs.prices, srv.ServerType, srv.Location, srv.IPv4 != "", srv.IPv6 != "")
		if err != nil {
			if msg := fmt.Sprintf("server %s: %v", srv.Name, err); !containsString(c.Missing, msg) {
				c.Missing = append(c.Missing, msg)
			}
			continue
		}
		c.Hourly = c.Hourly.Add(r.Hourly)
		c.Monthly = c.Monthly.Add(r.PerMonth())
	}
	return c
}

func containsString(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}
