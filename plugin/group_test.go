package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
	"golang.org/x/crypto/ssh"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/spec"
)

// simEnv is a simulator behind httptest plus a client to inspect it.
type simEnv struct {
	sim    *hcloudsim.Sim
	url    string
	client *hcloud.Client
	dir    string
}

func newSimEnv(t testing.TB, opts hcloudsim.Options, wrap func(http.Handler) http.Handler) *simEnv {
	t.Helper()
	sim := hcloudsim.New(opts)
	t.Cleanup(sim.Close)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1"
	return &simEnv{
		sim: sim,
		url: url,
		client: hcloud.NewClient(hcloud.WithToken("inspect"), hcloud.WithEndpoint(url),
			hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(10 * time.Millisecond)})),
		dir: t.TempDir(),
	}
}

const fleetYAML = `version: 1
name: gitlab-ci
manager:
  name: runner-manager
  server_type: cpx11
  image: debian-12
  location: hel1
gitlab_runner:
  concurrent: 4
  runners:
    - name: docker
      url: https://gitlab.com
      token: {env: RUNNER_TOKEN}
      autoscaler:
        capacity_per_instance: 1
        max_instances: 500
        instances:
%s
`

// writeFleet writes a fleet.yaml whose runner "docker" has the given
// instances section (YAML lines, indented by the caller's %s).
func (e *simEnv) writeFleet(t testing.TB, instances string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(instances), "\n") {
		b.WriteString("          " + strings.TrimSpace(l) + "\n")
	}
	p := filepath.Join(e.dir, "fleet.yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(fleetYAML, strings.TrimRight(b.String(), "\n"))), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const basicInstances = `
name: ci-docker
location: hel1
server_type: [cpx21, cpx31]
image: debian-12
labels: {runner: ""}
`

// group returns an instance group as gitlab-runner would configure it.
func (e *simEnv) group(t testing.TB, specPath string) *InstanceGroup {
	t.Helper()
	return &InstanceGroup{
		Settings: Settings{Spec: specPath, Runner: "docker", Token: "test-token", Endpoint: e.url, KeyFile: filepath.Join(e.dir, "state", "docker.key")},
		getenv:   func(string) string { return "" },
	}
}

func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (e *simEnv) initGroup(t testing.TB, g *InstanceGroup) {
	t.Helper()
	if _, err := g.Init(context.Background(), testLogger(t), provider.Settings{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { g.Shutdown(context.Background()) })
}

func (e *simEnv) servers(t *testing.T) []*hcloud.Server {
	t.Helper()
	all, err := e.client.Server.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

func (e *simEnv) volumes(t *testing.T) []*hcloud.Volume {
	t.Helper()
	all, err := e.client.Volume.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func update(t *testing.T, g *InstanceGroup) map[string]provider.State {
	t.Helper()
	got := map[string]provider.State{}
	if err := g.Update(context.Background(), func(id string, st provider.State) { got[id] = st }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	return got
}

// waitStates runs Update until every reported instance is in want (and
// there are n of them).
func waitStates(t *testing.T, g *InstanceGroup, n int, want provider.State) map[string]provider.State {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := update(t, g)
		ok := len(got) == n
		for _, st := range got {
			ok = ok && st == want
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances %v, want %d %s", got, n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var instanceName = regexp.MustCompile(`^ci-docker-[0-9a-f]{8}$`)

func TestIncreaseUpdateDecrease(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, basicInstances))
	e.initGroup(t, g)

	n, err := g.Increase(context.Background(), 3)
	if err != nil || n != 3 {
		t.Fatalf("Increase(3) = %d, %v", n, err)
	}
	states := waitStates(t, g, 3, provider.StateRunning)

	wantLabels := map[string]string{"runner": "", spec.LabelFleet: "gitlab-ci", spec.LabelRole: "instance", spec.LabelRunner: "docker"}
	servers := e.servers(t)
	if len(servers) != 3 {
		t.Fatalf("%d servers, want 3", len(servers))
	}
	for _, s := range servers {
		if !instanceName.MatchString(s.Name) {
			t.Errorf("server name %q, want ci-docker-<8 hex>", s.Name)
		}
		if d := cmp.Diff(wantLabels, s.Labels); d != "" {
			t.Errorf("server %s labels (-want +got):\n%s", s.Name, d)
		}
		if s.ServerType.Name != "cpx21" || s.Location.Name != "hel1" || s.Image == nil || s.Image.Name != "debian-12" {
			t.Errorf("server %s is %s in %s from %v, want cpx21 in hel1 from debian-12", s.Name, s.ServerType.Name, s.Location.Name, s.Image)
		}
		if _, ok := states[instanceID(s)]; !ok {
			t.Errorf("server %s not reported by Update (%v)", s.Name, states)
		}
	}

	ids := make([]string, 0, len(states))
	for id := range states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	deleted, err := g.Decrease(context.Background(), ids[:2])
	if err != nil || len(deleted) != 2 {
		t.Fatalf("Decrease = %v, %v", deleted, err)
	}
	// Deleted instances are reported deleted once, then forgotten.
	deadline := time.Now().Add(30 * time.Second)
	seenDeleted := map[string]bool{}
	for len(seenDeleted) < 2 {
		for id, st := range update(t, g) {
			if st == provider.StateDeleted {
				seenDeleted[id] = true
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("deleted instances reported: %v", seenDeleted)
		}
	}
	if got := update(t, g); len(got) != 1 || got[ids[2]] != provider.StateRunning {
		t.Errorf("after decrease: %v, want only %s running", got, ids[2])
	}

	// not_found counts as deleted.
	deleted, err = g.Decrease(context.Background(), []string{ids[0], ids[2]})
	if err != nil || len(deleted) != 2 {
		t.Errorf("Decrease of a gone and a present instance = %v, %v; want both", deleted, err)
	}
}

func TestServerTypeFallback(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, basicInstances))
	e.initGroup(t, g)

	if err := e.sim.AddFault(hcloudsim.Fault{Method: "POST", Path: "/v1/servers", Count: 1, Status: 412, Code: "resource_unavailable"}); err != nil {
		t.Fatal(err)
	}
	if n, err := g.Increase(context.Background(), 1); err != nil || n != 1 {
		t.Fatalf("Increase(1) with cpx21 unavailable = %d, %v", n, err)
	}
	// The next create starts at the type that worked.
	if n, err := g.Increase(context.Background(), 1); err != nil || n != 1 {
		t.Fatalf("second Increase(1) = %d, %v", n, err)
	}
	var types []string
	for _, s := range e.servers(t) {
		types = append(types, s.ServerType.Name)
	}
	if d := cmp.Diff([]string{"cpx31", "cpx31"}, types); d != "" {
		t.Errorf("server types (-want +got):\n%s", d)
	}
	if got := e.sim.Stats().ByRoute["POST /v1/servers"]; got != 3 {
		t.Errorf("%d server creates, want 3 (one refused, two on the fallback type)", got)
	}

	// Every type unavailable: nothing is created and the error says why.
	if err := e.sim.AddFault(hcloudsim.Fault{Method: "POST", Path: "/v1/servers", Count: 2, Status: 412, Code: "resource_unavailable"}); err != nil {
		t.Fatal(err)
	}
	n, err := g.Increase(context.Background(), 1)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "no server type available") {
		t.Errorf("Increase with every type unavailable = %d, %v", n, err)
	}
	if got := len(e.servers(t)); got != 2 {
		t.Errorf("%d servers, want still 2", got)
	}
}

func TestPartialFailureLeavesNoOrphans(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, `
name: ci-docker
location: hel1
server_type: cpx21
image: debian-12
volume_size: 10
`))
	e.initGroup(t, g)

	// One server create and one volume create fail: of 4 instances, 2 are made.
	for _, f := range []hcloudsim.Fault{
		{Method: "POST", Path: "/v1/servers", Count: 1, Status: 412, Code: "resource_unavailable"},
		{Method: "POST", Path: "/v1/volumes", Count: 1, Status: 422, Code: "invalid_input"},
	} {
		if err := e.sim.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	n, err := g.Increase(context.Background(), 4)
	if n != 2 || err == nil {
		t.Fatalf("Increase(4) = %d, %v; want 2 and an error", n, err)
	}
	servers := e.servers(t)
	volumes := e.volumes(t)
	if len(servers) != 2 || len(volumes) != 2 {
		t.Fatalf("%d servers and %d volumes, want 2 and 2", len(servers), len(volumes))
	}
	for _, v := range volumes {
		if v.Server == nil {
			t.Errorf("volume %s is attached to no server", v.Name)
		}
	}

	// Deleting the instances deletes their volumes too.
	var ids []string
	for _, s := range servers {
		ids = append(ids, instanceID(s))
	}
	if got, err := g.Decrease(context.Background(), ids); err != nil || len(got) != 2 {
		t.Fatalf("Decrease = %v, %v", got, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(e.volumes(t)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("volumes left after their servers were deleted: %d", len(e.volumes(t)))
		}
		update(t, g)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestVolumeWithoutServerIsSweptAtInit(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, basicInstances))
	ctx := context.Background()
	labels := map[string]string{spec.LabelFleet: "gitlab-ci", spec.LabelRole: "instance", spec.LabelRunner: "docker"}
	loc := &hcloud.Location{Name: "hel1"}
	for _, v := range []hcloud.VolumeCreateOpts{
		{Name: "ci-docker-deadbeef", Size: 10, Location: loc, Labels: labels},
		{Name: "someone-elses", Size: 10, Location: loc},
	} {
		if _, _, err := e.client.Volume.Create(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	e.initGroup(t, g)
	var names []string
	for _, v := range e.volumes(t) {
		names = append(names, v.Name)
	}
	if d := cmp.Diff([]string{"someone-elses"}, names); d != "" {
		t.Errorf("volumes after Init (-want +got):\n%s", d)
	}
}

// TestRateLimitBackoff: creates refused with 429 are retried after the
// RateLimit-Reset of the 429 each received, not before, and all of them end
// up created once.
func TestRateLimitBackoff(t *testing.T) {
	t.Parallel()
	var (
		mu sync.Mutex
		// resetOf holds, per create refused with 429, the RateLimit-Reset
		// it was sent; early the creates sent again before theirs.
		resetOf = map[string]time.Time{}
		early   []string
	)
	// The fault answers 429; add the reset the API sends with it. Only
	// the reset: with RateLimit-Limit and -Remaining the client may rightly
	// retry earlier, as the budget refills evenly.
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var name string
			if r.Method == "POST" && r.URL.Path == "/v1/servers" {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				var req struct {
					Name string `json:"name"`
				}
				json.Unmarshal(body, &req)
				name = req.Name
				mu.Lock()
				if reset, ok := resetOf[name]; ok && time.Now().Before(reset) {
					early = append(early, fmt.Sprintf("%s (%v early)", name, reset.Sub(time.Now())))
				}
				mu.Unlock()
			}
			h.ServeHTTP(&rateLimitHeaders{ResponseWriter: w, onLimit: func(hdr http.Header) {
				mu.Lock()
				defer mu.Unlock()
				// Whole seconds, as the API sends them.
				reset := time.Unix(time.Now().Add(1100*time.Millisecond).Unix(), 0)
				resetOf[name] = reset
				hdr.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			}}, r)
		})
	}
	e := newSimEnv(t, hcloudsim.Options{}, wrap)
	g := e.group(t, e.writeFleet(t, basicInstances))
	e.initGroup(t, g)

	if err := e.sim.AddFault(hcloudsim.Fault{Method: "POST", Path: "/v1/servers", Count: 3, Status: 429, Code: "rate_limit_exceeded"}); err != nil {
		t.Fatal(err)
	}
	n, err := g.Increase(context.Background(), 5)
	returned := time.Now()
	if err != nil || n != 5 {
		t.Fatalf("Increase(5) under a rate limit = %d, %v", n, err)
	}
	if got := e.sim.Stats().ByRoute["POST /v1/servers"]; got != 8 {
		t.Errorf("%d server creates, want 8 (5, of which 3 refused and retried)", got)
	}
	if got := len(e.servers(t)); got != 5 {
		t.Errorf("%d servers, want 5", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resetOf) != 3 {
		t.Errorf("%d creates refused, want 3", len(resetOf))
	}
	if len(early) > 0 {
		t.Errorf("creates sent again before the RateLimit-Reset of their 429: %v", early)
	}
	for name, reset := range resetOf {
		if returned.Before(reset) {
			t.Errorf("Increase returned %v before the RateLimit-Reset of %s's 429", reset.Sub(returned), name)
		}
	}
}

type rateLimitHeaders struct {
	http.ResponseWriter
	onLimit func(http.Header)
}

func (w *rateLimitHeaders) WriteHeader(code int) {
	if code == http.StatusTooManyRequests {
		w.onLimit(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func TestResourceLimitBacksOff(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, basicInstances))
	e.initGroup(t, g)
	if err := e.sim.AddFault(hcloudsim.Fault{Method: "POST", Path: "/v1/servers", Count: 100, Status: 403, Code: "resource_limit_exceeded"}); err != nil {
		t.Fatal(err)
	}
	n, err := g.Increase(context.Background(), 40)
	if n != 0 || !hcloud.IsError(err, hcloud.ErrorCodeResourceLimitExceeded) {
		t.Fatalf("Increase at the project limit = %d, %v", n, err)
	}
	if got := e.sim.Stats().ByRoute["POST /v1/servers"]; got > maxInFlight {
		t.Errorf("%d creates sent after the limit was reported; want at most those already in flight (%d)", got, maxInFlight)
	}
	before := e.sim.Stats().Total
	n, err = g.Increase(context.Background(), 1)
	if n != 0 || err == nil || !strings.Contains(err.Error(), "backing off") {
		t.Errorf("Increase right after the limit = %d, %v; want a back-off", n, err)
	}
	if got := e.sim.Stats().Total - before; got != 0 {
		t.Errorf("backing off still sent %d requests", got)
	}
}

func TestConnectInfoAndHeartbeatOfVanishedServer(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, basicInstances))
	e.initGroup(t, g)
	ctx := context.Background()
	if n, err := g.Increase(ctx, 1); err != nil || n != 1 {
		t.Fatalf("Increase = %d, %v", n, err)
	}
	states := waitStates(t, g, 1, provider.StateRunning)
	var id string
	for id = range states {
	}
	info, err := g.ConnectInfo(ctx, id)
	if err != nil {
		t.Fatalf("ConnectInfo: %v", err)
	}
	if info.ExternalAddr == "" || info.InternalAddr == "" || info.Username != "root" || info.Protocol != provider.ProtocolSSH || info.OS != "linux" || info.Arch != "amd64" || len(info.Key) == 0 {
		t.Errorf("ConnectInfo = %+v", info)
	}
	if err := g.Heartbeat(ctx, id); err != nil {
		t.Errorf("Heartbeat of a running instance: %v", err)
	}

	sid, _ := parseInstanceID(id)
	if _, _, err := e.client.Server.DeleteWithResult(ctx, &hcloud.Server{ID: sid}); err != nil {
		t.Fatal(err)
	}
	// Wait until it is really gone.
	deadline := time.Now().Add(30 * time.Second)
	for len(e.servers(t)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := g.ConnectInfo(ctx, id); err == nil || !strings.Contains(err.Error(), "no longer exists") {
		t.Errorf("ConnectInfo of a vanished server: %v", err)
	}
	if err := g.Heartbeat(ctx, id); !errors.Is(err, provider.ErrInstanceUnhealthy) {
		t.Errorf("Heartbeat of a vanished server = %v, want ErrInstanceUnhealthy", err)
	}
	if got := update(t, g); got[id] != provider.StateDeleted {
		t.Errorf("Update after the server vanished = %v, want %s deleted", got, id)
	}
}

func TestPoweredOffInstanceIsReplaced(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, basicInstances))
	e.initGroup(t, g)
	ctx := context.Background()
	if n, err := g.Increase(ctx, 1); err != nil || n != 1 {
		t.Fatalf("Increase = %d, %v", n, err)
	}
	states := waitStates(t, g, 1, provider.StateRunning)
	var id string
	for id = range states {
	}
	sid, _ := parseInstanceID(id)
	if _, _, err := e.client.Server.Poweroff(ctx, &hcloud.Server{ID: sid}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s, _, _ := e.client.Server.GetByID(ctx, sid); s != nil && s.Status == hcloud.ServerStatusOff {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not power off")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := g.Heartbeat(ctx, id); !errors.Is(err, provider.ErrInstanceUnhealthy) {
		t.Errorf("Heartbeat of a powered-off instance = %v", err)
	}
	if got := update(t, g); got[id] != provider.StateDeleting {
		t.Errorf("Update of a powered-off instance = %v, want deleting", got)
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(e.servers(t)) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the powered-off instance was not deleted")
		}
		update(t, g)
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRestartAdoptsInstances(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	specPath := e.writeFleet(t, basicInstances)
	ctx := context.Background()

	first := e.group(t, specPath)
	if _, err := first.Init(ctx, testLogger(t), provider.Settings{}); err != nil {
		t.Fatal(err)
	}
	if n, err := first.Increase(ctx, 2); err != nil || n != 2 {
		t.Fatalf("Increase = %d, %v", n, err)
	}
	before := waitStates(t, first, 2, provider.StateRunning)
	firstInfo, err := first.ConnectInfo(ctx, firstKey(before))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := e.client.SSHKey.All(ctx)
	if err != nil || len(keys) != 0 {
		t.Errorf("ssh keys after shutdown: %v, %v; want none", keys, err)
	}

	second := e.group(t, specPath)
	e.initGroup(t, second)
	after := update(t, second)
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("restarted plugin's instances (-before +after):\n%s", d)
	}
	info, err := second.ConnectInfo(ctx, firstKey(after))
	if err != nil {
		t.Fatal(err)
	}
	if string(info.Key) != string(firstInfo.Key) {
		t.Error("the restarted plugin uses another key: the adopted instances would refuse it")
	}
	// The key uploaded again is the one the instances were created with.
	k, _, err := e.client.SSHKey.GetByName(ctx, "ci-docker")
	if err != nil || k == nil {
		t.Fatalf("ssh key after restart: %v, %v", k, err)
	}
	signer, err := ssh.ParsePrivateKey(info.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.Fingerprint, ssh.FingerprintLegacyMD5(signer.PublicKey()); got != want {
		t.Errorf("uploaded key fingerprint %s, want %s", got, want)
	}
}

func firstKey(m map[string]provider.State) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0]
}

func TestSSHKeyOwnership(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("unlabelled key of the same name", func(t *testing.T) {
		t.Parallel()
		e := newSimEnv(t, hcloudsim.Options{}, nil)
		g := e.group(t, e.writeFleet(t, basicInstances))
		other := otherPublicKey(t)
		if _, _, err := e.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "ci-docker", PublicKey: other}); err != nil {
			t.Fatal(err)
		}
		_, err := g.Init(ctx, testLogger(t), provider.Settings{})
		if err == nil || !strings.Contains(err.Error(), "not fleetctl's to replace") {
			t.Fatalf("Init = %v, want a refusal to touch the unlabelled key", err)
		}
		keys, _ := e.client.SSHKey.All(ctx)
		if len(keys) != 1 || strings.TrimSpace(keys[0].PublicKey) != strings.TrimSpace(other) {
			t.Errorf("the unlabelled key was changed: %+v", keys)
		}
	})
	t.Run("stale labelled key is replaced", func(t *testing.T) {
		t.Parallel()
		e := newSimEnv(t, hcloudsim.Options{}, nil)
		g := e.group(t, e.writeFleet(t, basicInstances))
		labels := map[string]string{spec.LabelFleet: "gitlab-ci", spec.LabelRole: "instance", spec.LabelRunner: "docker"}
		if _, _, err := e.client.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "ci-docker", PublicKey: otherPublicKey(t), Labels: labels}); err != nil {
			t.Fatal(err)
		}
		e.initGroup(t, g)
		keys, _ := e.client.SSHKey.All(ctx)
		if len(keys) != 1 || keys[0].Fingerprint != ssh.FingerprintLegacyMD5(mustSigner(t, g.connector.Key).PublicKey()) {
			t.Errorf("keys after Init: %+v", keys)
		}
	})
}

func otherPublicKey(t *testing.T) string {
	t.Helper()
	pemBytes, _, err := loadOrCreateKey(filepath.Join(t.TempDir(), "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := authorizedKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func mustSigner(t *testing.T, pemBytes []byte) ssh.Signer {
	t.Helper()
	s, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInitErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		instances string
		want      string
	}{
		{
			name:      "unknown location",
			instances: "name: ci-docker\nlocation: mars1\nserver_type: cpx21\nimage: debian-12",
			want:      `instances.location: unknown location "mars1" (available: ash, fsn1, hel1, hil, nbg1, sin)`,
		},
		{
			name:      "unknown server type",
			instances: "name: ci-docker\nlocation: hel1\nserver_type: [cpx21, cpx99]\nimage: debian-12",
			want:      `instances.server_type[1]: unknown server type "cpx99"`,
		},
		{
			name:      "architecture mismatch",
			instances: "name: ci-docker\nlocation: hel1\nserver_type: [cpx21, cax11]\nimage: debian-12",
			want:      "server type cax11 is arm but cpx21 is x86",
		},
		{
			name:      "unknown image",
			instances: "name: ci-docker\nlocation: hel1\nserver_type: cpx21\nimage: windows-11",
			want:      `instances.image: no image "windows-11" for architecture x86`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newSimEnv(t, hcloudsim.Options{}, nil)
			g := e.group(t, e.writeFleet(t, tt.instances))
			_, err := g.Init(context.Background(), testLogger(t), provider.Settings{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Init = %v\nwant it to mention %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), filepath.Join(e.dir, "fleet.yaml")+":") {
				t.Errorf("Init error does not start with the fleet.yaml's position: %v", err)
			}
		})
	}
}

// TestUpdateRequestsPerFifty: Update costs one request per 50 instances.
func TestUpdateRequestsPerFifty(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, basicInstances))
	e.initGroup(t, g)
	if n, err := g.Increase(context.Background(), 120); err != nil || n != 120 {
		t.Fatalf("Increase(120) = %d, %v", n, err)
	}
	e.sim.ResetStats()
	if got := len(update(t, g)); got != 120 {
		t.Fatalf("Update reported %d instances, want 120", got)
	}
	if got := e.sim.Stats().Total; got != 3 {
		t.Errorf("Update of 120 instances made %d requests, want 3", got)
	}
}

// TestLostCreateAnswer: the API carries a create out but the answer is lost
// (504); hcloud-go retries, Hetzner answers uniqueness_error for the name,
// and the plugin counts the server it finds under that name, once.
func TestLostCreateAnswer(t *testing.T) {
	t.Parallel()
	var lost sync.Once
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" && r.URL.Path == "/v1/servers" {
				swallowed := false
				lost.Do(func() {
					h.ServeHTTP(httptest.NewRecorder(), r) // carried out, answer dropped
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusGatewayTimeout)
					fmt.Fprint(w, `{"error":{"code":"timeout","message":"gateway timeout","details":null}}`)
					swallowed = true
				})
				if swallowed {
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	e := newSimEnv(t, hcloudsim.Options{}, wrap)
	g := e.group(t, e.writeFleet(t, basicInstances))
	e.initGroup(t, g)
	n, err := g.Increase(context.Background(), 1)
	if err != nil || n != 1 {
		t.Fatalf("Increase(1) with a lost answer = %d, %v", n, err)
	}
	if got := len(e.servers(t)); got != 1 {
		t.Errorf("%d servers, want 1", got)
	}
}

// TestSecretsStayOut: the API token and the instances' private key appear
// in no log line and no error, on success and on failure.
func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	const token = "hcloud-secret-token-5f3a9c"
	e := newSimEnv(t, hcloudsim.Options{Token: token}, nil)
	specPath := e.writeFleet(t, basicInstances)
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})
	ctx := context.Background()

	g := e.group(t, specPath)
	g.Token = token
	if _, err := g.Init(ctx, log, provider.Settings{}); err != nil {
		t.Fatal(err)
	}
	var errs []error
	n, err := g.Increase(ctx, 2)
	errs = append(errs, err)
	states := waitStates(t, g, n, provider.StateRunning)
	for id := range states {
		_, err := g.ConnectInfo(ctx, id)
		errs = append(errs, err)
	}
	_, err = g.Decrease(ctx, []string{"ci-docker-00000000:999999"})
	errs = append(errs, err)
	errs = append(errs, g.Shutdown(ctx))

	wrong := e.group(t, specPath)
	wrong.Token = token + "-wrong"
	_, err = wrong.Init(ctx, log, provider.Settings{})
	if err == nil {
		t.Fatal("Init with a wrong token succeeded")
	}
	errs = append(errs, err)

	key, err := os.ReadFile(g.cfg.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyBody := strings.Split(strings.TrimSpace(string(key)), "\n")[1]
	text := logs.String()
	for _, err := range errs {
		if err != nil {
			text += "\n" + err.Error()
		}
	}
	for name, secret := range map[string]string{"token": token, "private key": keyBody} {
		if strings.Contains(text, secret) {
			t.Errorf("the %s appears in logs or errors:\n%s", name, text)
		}
	}
	if !strings.Contains(text, "unauthorized") {
		t.Errorf("the wrong token's error does not say unauthorized:\n%s", text)
	}
}

func TestConnectorSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("static credentials", func(t *testing.T) {
		t.Parallel()
		e := newSimEnv(t, hcloudsim.Options{}, nil)
		g := e.group(t, e.writeFleet(t, basicInstances))
		static, _, err := loadOrCreateKey(filepath.Join(t.TempDir(), "static.key"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Init(ctx, testLogger(t), provider.Settings{ConnectorConfig: provider.ConnectorConfig{
			UseStaticCredentials: true, Key: static, Username: "ci", ProtocolPort: 2222,
		}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Shutdown(ctx) })
		if _, err := os.Stat(g.cfg.keyFile); err == nil {
			t.Error("a key file was generated although static credentials are used")
		}
		keys, _ := e.client.SSHKey.All(ctx)
		if len(keys) != 1 || keys[0].Fingerprint != ssh.FingerprintLegacyMD5(mustSigner(t, static).PublicKey()) {
			t.Errorf("uploaded keys %+v, want the static key's public half", keys)
		}
		if n, err := g.Increase(ctx, 1); err != nil || n != 1 {
			t.Fatalf("Increase = %d, %v", n, err)
		}
		states := waitStates(t, g, 1, provider.StateRunning)
		info, err := g.ConnectInfo(ctx, firstKey(states))
		if err != nil {
			t.Fatal(err)
		}
		if string(info.Key) != string(static) || info.Username != "ci" || info.ProtocolPort != 2222 || !info.UseStaticCredentials {
			t.Errorf("ConnectInfo = user %q port %d static %v, same key %v", info.Username, info.ProtocolPort, info.UseStaticCredentials, string(info.Key) == string(static))
		}
	})
	for _, tt := range []struct {
		name     string
		settings provider.ConnectorConfig
		want     string
	}{
		{name: "static without key", settings: provider.ConnectorConfig{UseStaticCredentials: true}, want: "use_static_credentials needs key_path"},
		{name: "arch mismatch", settings: provider.ConnectorConfig{Arch: "arm64"}, want: `connector_config: arch is "arm64" but server type cpx21 is amd64`},
		{name: "winrm", settings: provider.ConnectorConfig{Protocol: provider.ProtocolWinRM}, want: `protocol "winrm" is not supported`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newSimEnv(t, hcloudsim.Options{}, nil)
			g := e.group(t, e.writeFleet(t, basicInstances))
			_, err := g.Init(ctx, testLogger(t), provider.Settings{ConnectorConfig: tt.settings})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Init = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
