package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
	"github.com/fleetctl/fleetctl/reconcile/planview"
	"github.com/fleetctl/fleetctl/spec"
)

const statusRunner = "hetzner-docker-autoscaler"

// addInstances creates the plugin's instances as it labels them, each then
// put into the Hetzner status given.
func addInstances(t *testing.T, e *env, statuses ...string) {
	t.Helper()
	for i, status := range statuses {
		name := fmt.Sprintf("runner-docker-autoscaler-%d", i)
		res, _, err := e.client.Server.Create(context.Background(), hcloud.ServerCreateOpts{Name: name,
			ServerType: &hcloud.ServerType{Name: "cpx21"}, Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: "hel1"},
			Labels: map[string]string{spec.LabelFleet: e.fleet, spec.LabelRole: reconcile.RoleInstance, spec.LabelRunner: statusRunner}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.client.Action.WaitFor(context.Background(), append(res.NextActions, res.Action)...); err != nil {
			t.Fatal(err)
		}
		if !e.sim.SetServerStatus(name, status) {
			t.Fatalf("set %s %s", name, status)
		}
	}
}

func statusText(t *testing.T, st *reconcile.Status) (string, string) {
	t.Helper()
	var text, js strings.Builder
	if err := planview.StatusText(&text, st, planview.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := planview.StatusJSON(&js, st); err != nil {
		t.Fatal(err)
	}
	return text.String(), js.String()
}

// TestStatus looks at an applied fleet with instances in every state: the
// counts, the idle floor, the cost by hand from the simulator's prices, and
// a constant number of requests whatever else the project holds.
func TestStatus(t *testing.T) {
	t.Parallel()
	requireSSHHosts(t)
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	addInstances(t, e, "running", "running", "running", "initializing", "off", "deleting")

	now := time.Now()
	e.sim.ResetStats()
	st, err := e.session().Status(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	requests := e.sim.Stats().Total
	text, js := statusText(t, st)
	e.checkNoSecrets("status", text, js)
	t.Logf("status:\n%s", text)

	m := st.Manager
	if m == nil || m.Name != "runner-manager" || m.ServerType != "cpx11" || m.Location != "hel1" || m.Status != "running" || m.HostKey != "matches" || m.IPv4 == "" || m.Changes != 0 {
		t.Errorf("manager = %+v", m)
	}
	if svc := st.Service; svc == nil || svc.State != "active" || svc.Version != "17.11.0" || svc.ConfigTOML != "in sync" || svc.ConfigWritten.IsZero() {
		t.Errorf("gitlab-runner = %+v", svc)
	}
	if len(st.Runners) != 1 {
		t.Fatalf("runners = %+v", st.Runners)
	}
	r := st.Runners[0]
	if d := cmp.Diff(map[string]int{"running": 3, "creating": 1, "off": 1, "deleting": 1}, r.Instances); d != "" {
		t.Errorf("instances by state (-want +got):\n%s", d)
	}
	// idle_count 8 over capacity 4, every minute, in Europe/Berlin.
	if r.Total != 6 || r.MaxInstances != 5 || r.IdleFloor != 2 || r.Policy.Index != 0 || r.Policy.Timezone != "Europe/Berlin" || r.Oldest.IsZero() {
		t.Errorf("runner = %+v", r)
	}
	if r.Jobs != nil || !strings.Contains(r.JobsUnknown, "listen_address") {
		t.Errorf("jobs without listen_address: %v %q", r.Jobs, r.JobsUnknown)
	}
	// Manager cpx11 €0.0080 + IPv4 €0.0008 an hour, €4.99 + €0.50 a month;
	// six cpx21 €0.0144 + €0.0008, €8.99 + €0.50: €0.1000 an hour, €62.43
	// a month at that rate.
	if c := st.Cost; c == nil || fmt.Sprintf("%.4f %.2f", c.Hourly.Net, c.Monthly.Net) != "0.1000 62.43" || len(c.Missing) > 0 {
		t.Errorf("cost = %+v", c)
	}
	for _, want := range []string{"6 (3 running, 1 creating, 1 off, 1 deleting) of max 5", "€0.1000/hour, €62.43/month", "host key     matches", "config.toml  in sync"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(js, `"format_version": "1.0"`) || !strings.Contains(js, `"running": 3`) {
		t.Errorf("status JSON:\n%s", js)
	}
	if requests > 5 {
		t.Errorf("status sent %d requests: %v", requests, e.sim.Stats().ByRoute)
	}

	// Unrelated servers change nothing of the count.
	for i := 0; i < 60; i++ {
		if _, _, err := e.client.Server.Create(context.Background(), hcloud.ServerCreateOpts{Name: fmt.Sprintf("unrelated-%d", i),
			ServerType: &hcloud.ServerType{Name: "cpx11"}, Image: &hcloud.Image{Name: "debian-12"}, Labels: map[string]string{"team": "web"}}); err != nil {
			t.Fatal(err)
		}
	}
	e.sim.ResetStats()
	if _, err := e.session().Status(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Stats().Total; got != requests {
		t.Errorf("with 60 unrelated servers status sent %d requests, before %d: %v", got, requests, e.sim.Stats().ByRoute)
	}
}

// TestStatusWithoutSSHKey: a read-only pipeline has no SSH key; status
// still shows the cloud side and says what it could not see.
func TestStatusWithoutSSHKey(t *testing.T) {
	t.Parallel()
	requireSSHHosts(t)
	e := newEnv(t, hcloudsim.Options{})
	e.mustApply()
	addInstances(t, e, "running")
	if err := os.Remove(filepath.Join(e.dir, "id_ed25519")); err != nil {
		t.Fatal(err)
	}
	st, err := e.session().Status(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	text, js := statusText(t, st)
	e.checkNoSecrets("status", text, js)
	if st.Manager == nil || st.Manager.HostKey != "not checked" || st.Service.State != "unknown (no SSH)" || !strings.HasPrefix(st.Service.ConfigTOML, "not compared") {
		t.Errorf("manager %+v, service %+v", st.Manager, st.Service)
	}
	if len(st.NotSeen) == 0 || !strings.Contains(st.NotSeen[0].Message, "manager.ssh.private_key") {
		t.Errorf("not seen = %+v", st.NotSeen)
	}
	if st.Runners[0].Instances["running"] != 1 || st.Cost.Monthly.Net == 0 {
		t.Errorf("the cloud side is missing: %+v, %+v", st.Runners, st.Cost)
	}
	if !strings.Contains(text, "Not seen:") {
		t.Errorf("text:\n%s", text)
	}
}

// TestStatusJobs reads running jobs from gitlab-runner's metrics on the
// manager where listen_address is set (the simulator's SSH host runs the
// request on this machine, where a stand-in serves the metrics).
func TestStatusJobs(t *testing.T) {
	t.Parallel()
	requireSSHHosts(t)
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "gitlab_runner_jobs{executor_stage=\"docker_run\",runner=\"t1\",runner_name=%q,stage=\"step_script\",state=\"running\",system_id=\"s\"} 2\n", statusRunner)
		fmt.Fprintf(w, "gitlab_runner_jobs{executor_stage=\"prepare_executor\",runner=\"t1\",runner_name=%q,stage=\"prepare\",state=\"running\",system_id=\"s\"} 1\n", statusRunner)
	}))
	t.Cleanup(metrics.Close)
	e := newEnv(t, hcloudsim.Options{})
	path := filepath.Join(e.dir, "fleet.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(metrics.URL, "http://")
	fleet := strings.Replace(string(b), "  concurrent: 10\n", "  concurrent: 10\n  listen_address: "+addr+"\n", 1)
	if err := os.WriteFile(path, []byte(fleet), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustApply()
	st, err := e.session().Status(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Runners[0]; r.Jobs == nil || *r.Jobs != 3 {
		t.Errorf("jobs = %v (%s), want 3", r.Jobs, r.JobsUnknown)
	}
	text, _ := statusText(t, st)
	if !strings.Contains(text, "jobs         3 running") {
		t.Errorf("text:\n%s", text)
	}
}
