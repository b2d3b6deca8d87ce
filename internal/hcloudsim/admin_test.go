package hcloudsim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

func adminDo(t *testing.T, env *testEnv, method, path string, body any) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if body != nil {
		json.NewEncoder(&buf).Encode(body)
	}
	req, _ := http.NewRequest(method, env.srv.URL+path, &buf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

func TestAdminStats(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a"})
	env.sim.ResetStats()
	env.client.Server.All(ctx)
	env.client.Server.GetByID(ctx, srv.ID)
	a, _, err := env.client.Server.Poweroff(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	env.client.Action.WaitFor(ctx, a)
	env.client.Server.Action.GetByID(ctx, a.ID)
	env.client.Server.Action.All(ctx, hcloud.ActionListOpts{})

	code, body := adminDo(t, env, "GET", "/_sim/stats", nil)
	var stats Stats
	if err := json.Unmarshal(body, &stats); err != nil || code != 200 {
		t.Fatalf("stats: %d %s %v", code, body, err)
	}
	want := Stats{Total: 6, ByRoute: map[string]int{
		"GET /v1/servers": 1, "GET /v1/servers/{id}": 1, "POST /v1/servers/{id}/actions/poweroff": 1,
		"GET /v1/actions": 1, "GET /v1/servers/actions/{action_id}": 1, "GET /v1/servers/actions": 1,
	}}
	if d := cmp.Diff(want, stats); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	if code, _ := adminDo(t, env, "DELETE", "/_sim/stats", nil); code != 204 {
		t.Errorf("DELETE stats: %d", code)
	}
	if got := env.sim.Stats(); got.Total != 0 {
		t.Errorf("after reset: %+v", got)
	}
}

func TestAdminFaults(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a"})

	code, body := adminDo(t, env, "POST", "/_sim/faults", Fault{Method: "GET", Path: "/v1/servers/{id}", Count: 1, Status: 503, Code: "unavailable"})
	if code != 201 {
		t.Fatalf("add fault: %d %s", code, body)
	}
	_, _, err := env.client.Server.GetByID(ctx, srv.ID)
	mustErrorCode(t, err, "unavailable")
	if _, _, err := env.client.Server.GetByID(ctx, srv.ID); err != nil {
		t.Errorf("fault applied more than count: %v", err)
	}

	// A failed action.
	if err := env.sim.AddFault(Fault{Method: "POST", Path: "/v1/servers/*/actions/poweroff", ActionError: true}); err != nil {
		t.Fatal(err)
	}
	a, _, err := env.client.Server.Poweroff(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	err = env.client.Action.WaitFor(ctx, a)
	var aerr hcloud.ActionError
	if err == nil || !errorAs(err, &aerr) {
		t.Fatalf("wait for failed action: %v", err)
	}
	got, _, _ := env.client.Server.GetByID(ctx, srv.ID)
	if got.Status != hcloud.ServerStatusRunning {
		t.Errorf("after failed poweroff: %s, want running", got.Status)
	}

	// Latency and clearing.
	env.sim.AddFault(Fault{Path: "/v1/servers*", Count: 5, Latency: "50ms"})
	start := time.Now()
	env.client.Server.GetByID(ctx, srv.ID)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("latency fault: request took %s", d)
	}
	// Cleared, a fault that would hold requests for an hour holds none.
	env.sim.AddFault(Fault{Path: "/v1/servers*", Count: 5, Latency: "1h"})
	if code, _ := adminDo(t, env, "DELETE", "/_sim/faults", nil); code != 204 {
		t.Errorf("DELETE faults: %d", code)
	}
	cleared, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, _, err := env.client.Server.GetByID(cleared, srv.ID); err != nil {
		t.Errorf("after clearing faults: %v", err)
	}

	// 429 with the retry of hcloud-go exhausted.
	env.sim.AddFault(Fault{Path: "/v1/servers", Count: 10, Status: 429})
	_, err = env.client.Server.All(ctx)
	mustErrorCode(t, err, hcloud.ErrorCodeRateLimitExceeded)
	env.sim.ClearFaults()

	if code, _ := adminDo(t, env, "POST", "/_sim/faults", map[string]any{"colour": "red"}); code != 400 {
		t.Errorf("bad fault body: %d", code)
	}
	code, body = adminDo(t, env, "GET", "/_sim/servers/a/calls", nil)
	if code != 200 || string(bytes.TrimSpace(body)) != `{"calls":[]}` {
		t.Errorf("calls without SSH: %d %s", code, body)
	}
	if code, _ := adminDo(t, env, "GET", "/_sim/servers/nope/calls", nil); code != 404 {
		t.Errorf("calls of unknown server: %d", code)
	}
}

func errorAs(err error, target *hcloud.ActionError) bool {
	e, ok := err.(hcloud.ActionError)
	if ok {
		*target = e
	}
	return ok
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{RateLimit: 3})
	var last *http.Response
	for i := range 4 {
		req, _ := http.NewRequest("GET", env.srv.URL+"/v1/locations", nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := strconv.Itoa(2 - i); i < 3 && resp.Header.Get("RateLimit-Remaining") != want {
			t.Errorf("request %d: remaining %s, want %s", i, resp.Header.Get("RateLimit-Remaining"), want)
		}
		last = resp
	}
	if last.StatusCode != 429 || last.Header.Get("RateLimit-Limit") != "3" || last.Header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("4th request: %d %v", last.StatusCode, last.Header)
	}
	reset, _ := strconv.ParseInt(last.Header.Get("RateLimit-Reset"), 10, 64)
	if wait := time.Until(time.Unix(reset, 0)); wait < 59*time.Minute || wait > 61*time.Minute {
		t.Errorf("reset in %s, want about an hour for 3 requests/hour", wait)
	}
}

func TestRateLimiterRefill(t *testing.T) {
	t.Parallel()
	clock := time.Unix(1_800_000_000, 0)
	l := newRateLimiter(3600, func() time.Time { return clock })
	for range 3600 {
		if ok, _, _, _ := l.take(); !ok {
			t.Fatal("burst of the whole hour refused")
		}
	}
	if ok, _, _, reset := l.take(); ok || reset != clock.Add(time.Hour).Unix() {
		t.Fatalf("spent: ok=%v reset=%d", ok, reset)
	}
	clock = clock.Add(2 * time.Second)
	if ok, _, remaining, _ := l.take(); !ok || remaining != 1 {
		t.Errorf("after 2s: ok=%v remaining=%d, want one more left", ok, remaining)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{Token: "right", ReadOnlyToken: "reader"})
	ctx := context.Background()
	_, err := newClient(env.srv.URL, "wrong").Location.All(ctx)
	mustErrorCode(t, err, hcloud.ErrorCodeUnauthorized)
	reader := newClient(env.srv.URL, "reader")
	if _, err := reader.Location.All(ctx); err != nil {
		t.Errorf("read-only token reading: %v", err)
	}
	_, _, err = reader.SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k", PublicKey: newPublicKey(t)})
	mustErrorCode(t, err, hcloud.ErrorCodeForbidden)
	if _, _, err := newClient(env.srv.URL, "right").SSHKey.Create(ctx, hcloud.SSHKeyCreateOpts{Name: "k", PublicKey: newPublicKey(t)}); err != nil {
		t.Errorf("right token: %v", err)
	}
}

func TestActionDuration(t *testing.T) {
	t.Parallel()
	// Long enough that the requests below see it running on a busy
	// machine; WaitFor ends it as soon as it finished.
	env := newTestEnv(t, Options{ActionDuration: 3 * time.Second})
	ctx := context.Background()
	res, _, err := env.client.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "slow", ServerType: &hcloud.ServerType{Name: "cx23"}, Image: &hcloud.Image{Name: "debian-12"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = env.client.Server.Poweroff(ctx, res.Server)
	mustErrorCode(t, err, hcloud.ErrorCodeLocked)
	// Progress grows while the action runs: poll until it moved.
	for {
		a, _, err := env.client.Action.GetByID(ctx, res.Action.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != hcloud.ActionStatusRunning {
			t.Fatalf("action %s before its progress was seen between 1 and 99%%", a.Status)
		}
		if a.Progress > 99 {
			t.Fatalf("running action at %d%%", a.Progress)
		}
		if a.Progress >= 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv, _, _ := env.client.Server.GetByID(ctx, res.Server.ID)
	if srv.Status != hcloud.ServerStatusInitializing {
		t.Errorf("server while creating: %s", srv.Status)
	}
	if err := env.client.Action.WaitFor(ctx, append(res.NextActions, res.Action)...); err != nil {
		t.Fatal(err)
	}
	srv, _, _ = env.client.Server.GetByID(ctx, res.Server.ID)
	if srv.Status != hcloud.ServerStatusRunning {
		t.Errorf("server after actions: %s", srv.Status)
	}
}

func TestFinishedActionsAreBounded(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	env.sim.maxActions = 10
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a"})
	var last *hcloud.Action
	for range 20 {
		a, _, err := env.client.Server.Reboot(ctx, srv)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.client.Action.WaitFor(ctx, a); err != nil {
			t.Fatal(err)
		}
		last = a
	}
	all, err := env.client.Server.Action.All(ctx, hcloud.ActionListOpts{})
	if err != nil || len(all) > 11 || all[len(all)-1].ID != last.ID {
		t.Errorf("kept %d actions (%v), want at most 10 finished ones and the newest", len(all), err)
	}
}

func TestLatencyOption(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{Latency: 40 * time.Millisecond})
	start := time.Now()
	if _, err := env.client.Location.All(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("request took %s, want at least the 40ms latency", d)
	}
}

// A dropped response loses the answer, not the change: the key exists, and
// the create sent again meets uniqueness_error. A dropped request changes
// nothing.
func TestDroppedConnections(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	env.sim.AddFault(Fault{Method: "POST", Path: "/v1/ssh_keys", Drop: "response"})
	opts := hcloud.SSHKeyCreateOpts{Name: "k", PublicKey: newPublicKey(t)}
	if _, _, err := env.client.SSHKey.Create(ctx, opts); err == nil {
		t.Fatal("a create whose answer was dropped succeeded")
	}
	if k, _, err := env.client.SSHKey.GetByName(ctx, "k"); err != nil || k == nil {
		t.Fatalf("the change behind a dropped answer is missing: %v, %v", k, err)
	}
	_, _, err := env.client.SSHKey.Create(ctx, opts)
	mustErrorCode(t, err, hcloud.ErrorCodeUniquenessError)

	env.sim.AddFault(Fault{Method: "DELETE", Path: "/v1/ssh_keys/*", Drop: "request"})
	k, _, _ := env.client.SSHKey.GetByName(ctx, "k")
	if _, err := env.client.SSHKey.Delete(ctx, k); err == nil {
		t.Fatal("a delete whose request was dropped succeeded")
	}
	if k, _, _ := env.client.SSHKey.GetByName(ctx, "k"); k == nil {
		t.Fatal("a dropped request made its change")
	}
	if st := env.sim.Stats(); st.Dropped != 2 {
		t.Errorf("stats count %d dropped connections, want 2", st.Dropped)
	}
	if err := env.sim.AddFault(Fault{Drop: "sometimes"}); err == nil {
		t.Error("a drop that is neither request nor response was armed")
	}
}
