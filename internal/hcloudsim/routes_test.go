package hcloudsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// TestActionRoutes walks every kind's action routes, found and not found.
func TestActionRoutes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	srv := createServer(t, env, hcloud.ServerCreateOpts{Name: "a"})
	fw, _, err := env.client.Firewall.Create(ctx, hcloud.FirewallCreateOpts{Name: "fw",
		ApplyTo: []hcloud.FirewallResource{{Type: hcloud.FirewallResourceTypeServer, Server: &hcloud.FirewallResourceServer{ID: srv.ID}}}})
	if err != nil {
		t.Fatal(err)
	}
	ip, _, err := env.client.PrimaryIP.Create(ctx, hcloud.PrimaryIPCreateOpts{Name: "ip", Type: hcloud.PrimaryIPTypeIPv4, AssigneeType: "server", Location: "hel1"})
	if err != nil {
		t.Fatal(err)
	}
	vol, _, err := env.client.Volume.Create(ctx, hcloud.VolumeCreateOpts{Name: "v", Size: 10, Server: srv})
	if err != nil {
		t.Fatal(err)
	}
	_, ipRange, _ := net.ParseCIDR("10.0.0.0/16")
	nw, _, err := env.client.Network.Create(ctx, hcloud.NetworkCreateOpts{Name: "n", IPRange: ipRange})
	if err != nil {
		t.Fatal(err)
	}
	_, sub, _ := net.ParseCIDR("10.0.0.0/24")
	nwAction, _, err := env.client.Network.AddSubnet(ctx, nw, hcloud.NetworkAddSubnetOpts{Subnet: hcloud.NetworkSubnet{Type: hcloud.NetworkSubnetTypeCloud, IPRange: sub, NetworkZone: hcloud.NetworkZoneEUCentral}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := []struct {
		path   string
		id     int64
		action int64
	}{
		{"servers", srv.ID, 0},
		{"firewalls", fw.Firewall.ID, fw.Actions[0].ID},
		{"primary_ips", ip.PrimaryIP.ID, ip.Action.ID},
		{"volumes", vol.Volume.ID, vol.Action.ID},
		{"networks", nw.ID, nwAction.ID},
	}
	serverActions, _ := env.client.Server.Action.All(ctx, hcloud.ActionListOpts{})
	kinds[0].action = serverActions[0].ID

	get := func(path string, v any) error {
		req, err := env.client.NewRequest(ctx, "GET", path, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = env.client.Do(req, v)
		return err
	}
	for _, k := range kinds {
		t.Run(k.path, func(t *testing.T) {
			var list schema.ActionListResponse
			if err := get(fmt.Sprintf("/%s/%d/actions?sort=id:desc", k.path, k.id), &list); err != nil || len(list.Actions) == 0 {
				t.Errorf("/%s/{id}/actions: %d, %v", k.path, len(list.Actions), err)
			}
			for _, path := range []string{fmt.Sprintf("/%s/%d/actions/%d", k.path, k.id, k.action), fmt.Sprintf("/%s/actions/%d", k.path, k.action), fmt.Sprintf("/actions/%d", k.action)} {
				var one schema.ActionGetResponse
				if err := get(path, &one); err != nil || one.Action.ID != k.action || one.Action.Status != "success" {
					t.Errorf("%s: %+v, %v", path, one.Action, err)
				}
			}
			for _, path := range []string{fmt.Sprintf("/%s/1/actions", k.path), fmt.Sprintf("/%s/%d/actions/1", k.path, k.id), fmt.Sprintf("/%s/actions/1", k.path)} {
				mustErrorCode(t, get(path, nil), hcloud.ErrorCodeNotFound)
			}
		})
	}
	var byIP schema.PrimaryIPGetResponse
	if err := get(fmt.Sprintf("/primary_ips/%d", ip.PrimaryIP.ID), &byIP); err != nil || byIP.PrimaryIP.Name != "ip" {
		t.Errorf("get primary IP: %+v %v", byIP, err)
	}
	for _, kind := range emptyLists {
		if strings.HasPrefix(kind, "storage_box") {
			continue
		}
		mustErrorCode(t, get("/"+kind+"/1", nil), hcloud.ErrorCodeNotFound)
	}
	var actions schema.ActionListResponse
	if err := get("/servers/actions?status=success&sort=command:asc&sort=started:desc&per_page=3", &actions); err != nil || len(actions.Actions) != 3 {
		t.Errorf("actions filtered: %d %v", len(actions.Actions), err)
	}
	mustErrorCode(t, get("/actions", nil), "deprecated_api_endpoint")
	actions = schema.ActionListResponse{}
	if err := get(fmt.Sprintf("/actions?id=%d&id=%d&status=success", ip.Action.ID, nwAction.ID), &actions); err != nil || len(actions.Actions) != 2 {
		t.Errorf("actions by id: %d %v", len(actions.Actions), err)
	}
	mustErrorCode(t, get("/actions?id=1&status=done", nil), hcloud.ErrorCodeInvalidInput)
	mustErrorCode(t, get("/actions?id=x", nil), hcloud.ErrorCodeInvalidInput)
	mustErrorCode(t, get("/servers?page=0", nil), hcloud.ErrorCodeInvalidInput)
	mustErrorCode(t, get("/servers?status=asleep", nil), hcloud.ErrorCodeInvalidInput)
	mustErrorCode(t, get("/servers/x", nil), hcloud.ErrorCodeNotFound)
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Options{})
	ctx := context.Background()
	req, _ := env.client.NewRequest(ctx, "POST", "/ssh_keys", strings.NewReader(`{"name": `))
	_, err := env.client.Do(req, nil)
	mustErrorCode(t, err, hcloud.ErrorCodeJSONError)
	req, _ = env.client.NewRequest(ctx, "POST", "/servers", strings.NewReader(`{"name": "a", "server_type": "cx23", "image": "debian-12", "user_data": "`+strings.Repeat("x", 33*1024)+`"}`))
	_, err = env.client.Do(req, nil)
	mustErrorCode(t, err, hcloud.ErrorCodeInvalidInput)
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	sim := New(Options{})
	defer sim.Close()
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/spaceships", 404, "not_found"},
		{"PATCH", "/v1/servers", 405, "method_not_allowed"},
		{"DELETE", "/v1/locations/1", 405, "method_not_allowed"},
		{"GET", "/v2/servers", 404, "not_found"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, nil)
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		var body schema.ErrorResponse
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tt.status || body.Error.Code != tt.code || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, rec.Code, body.Error.Code, tt.status, tt.code)
		}
	}
	if got := sim.Stats(); got.Total != 0 {
		t.Errorf("unknown routes counted: %+v", got)
	}
}
