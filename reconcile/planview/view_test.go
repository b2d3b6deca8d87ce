package planview

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// samplePlan has one change of every kind, as a saved plan reads back.
func samplePlan(t *testing.T) *reconcile.Plan {
	t.Helper()
	p := &reconcile.Plan{
		Fleet: "gitlab-ci",
		Changes: []reconcile.Change{
			{Addr: "hcloud_ssh_key.dev", Action: reconcile.NoOp, ID: 1, Before: reconcile.Values{"name": "dev"}, After: reconcile.Values{"name": "dev"}},
			{Addr: "hcloud_ssh_key.old", Action: reconcile.Delete, ID: 2, Reason: "no longer in fleet.yaml", Before: reconcile.Values{"name": "old"}},
			{Addr: "hcloud_firewall.runner", Action: reconcile.Update, ID: 3,
				Before: reconcile.Values{"name": "runner", "rules": []string{"in tcp port 22 from 0.0.0.0/0", "in tcp port 80 from 0.0.0.0/0"}, "labels": map[string]string{"a": "1"}},
				After:  reconcile.Values{"name": "runner", "rules": []string{"in icmp from 0.0.0.0/0", "in tcp port 22 from 0.0.0.0/0"}, "labels": map[string]string{"a": "2", "b": ""}}},
			{Addr: "hcloud_server.runner-manager", Action: reconcile.DeleteThenCreate, ID: 4, Reason: "image changed: Hetzner rebuilds a server's disk only by replacing it",
				ForcesReplacement: []string{"image"},
				Before:            reconcile.Values{"image": "debian-12", "server_type": "cpx11", "ipv4": "203.0.113.1"},
				After:             reconcile.Values{"image": "debian-13", "server_type": "cpx11", "ipv4": "(known after apply)"}},
			{Addr: reconcile.AddrConfigTOML, Action: reconcile.Update, SensitiveChanges: []string{"content.runners[0].token"},
				Before: reconcile.Values{"content.concurrent": 10, "content.runners[0].token": reconcile.Sensitive, "content.runners[10].name": "x"},
				After:  reconcile.Values{"content.concurrent": 20, "content.runners[0].token": reconcile.Sensitive, "content.runners[10].name": "x"}},
			{Addr: reconcile.AddrFleetYAML, Action: reconcile.Create, After: reconcile.Values{"path": "/etc/fleetctl/fleet.yaml", "mode": "0600", "sha256": "abc"}},
		},
		Instances:   []reconcile.Instance{{Name: "runner-docker-autoscaler-a1b2c3", ID: 9, Status: "running", ServerType: "cpx21"}},
		NotCompared: []reconcile.Note{{Subject: "gitlab_runner.runners[0].token", Message: "environment variable RUNNER_TOKEN is not set", Blocking: true}},
	}
	// Round-trip through a plan file, as apply FILE reads it.
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := reconcile.WritePlanFile(path, p); err != nil {
		t.Fatal(err)
	}
	back, err := reconcile.ReadPlanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, samplePlan(t), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", b.Bytes())
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("colour without Color")
	}
	b.Reset()
	Text(&b, samplePlan(t), TextOptions{Color: true})
	if !strings.Contains(b.String(), "\x1b[32m+\x1b[0m") {
		t.Error("no colour with Color")
	}
}

func TestTextNoChanges(t *testing.T) {
	var b bytes.Buffer
	p := &reconcile.Plan{Fleet: "f", Changes: []reconcile.Change{{Addr: "hcloud_ssh_key.dev", Action: reconcile.NoOp}}}
	if err := Text(&b, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(b.String()); got != "No changes. Your infrastructure matches the configuration." {
		t.Errorf("got %q", got)
	}
}

// TestTextNotCompared: a plan that could not compare everything never says
// the infrastructure matches the configuration, with or without changes.
func TestTextNotCompared(t *testing.T) {
	notes := []reconcile.Note{
		{Subject: "file.config_toml", Message: "manager.ssh.private_key: environment variable SSH_PRIVATE_KEY is not set", Blocking: true},
		{Subject: "gitlab_runner.runners[0].token", Message: "environment variable RUNNER_TOKEN is not set", Blocking: true},
	}
	noop := reconcile.Change{Addr: "hcloud_ssh_key.dev", Action: reconcile.NoOp}
	create := reconcile.Change{Addr: "hcloud_ssh_key.ci", Action: reconcile.Create, After: reconcile.Values{"name": "ci"}}
	for _, tc := range []struct {
		name    string
		changes []reconcile.Change
		notes   []reconcile.Note
		want    string
	}{
		{"no changes, two not compared", []reconcile.Change{noop}, notes,
			"No changes to what could be compared; 2 items were not compared (see above)."},
		{"no changes, one not compared", []reconcile.Change{noop}, notes[:1],
			"No changes to what could be compared; 1 item was not compared (see above)."},
		{"changes, one not compared", []reconcile.Change{noop, create}, notes[1:],
			"Plan: 1 to add, 0 to change, 0 to destroy.\n1 item was not compared (see above)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Text(&b, &reconcile.Plan{Fleet: "f", Changes: tc.changes, NotCompared: tc.notes}, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			text := b.String()
			if !strings.HasSuffix(text, "\n\n"+tc.want+"\n") {
				t.Errorf("summary is not %q:\n%s", tc.want, text)
			}
			if strings.Contains(text, "matches the configuration") {
				t.Errorf("claims a match although %d items were not compared:\n%s", len(tc.notes), text)
			}
			for _, n := range tc.notes {
				if !strings.Contains(text, n.String()) {
					t.Errorf("lacks the note %q:\n%s", n.String(), text)
				}
			}
		})
	}
}

// TestJSONSummaryNotCompared: JSON consumers learn from the summary whether
// "no changes" means the live state matches.
func TestJSONSummaryNotCompared(t *testing.T) {
	for _, tc := range []struct {
		name  string
		notes []reconcile.Note
		want  Summary
	}{
		{"complete", nil, Summary{NotCompared: 0, Complete: true}},
		{"one not compared", []reconcile.Note{{Subject: "file.config_toml", Message: "no SSH key"}}, Summary{NotCompared: 1, Complete: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := &reconcile.Plan{Fleet: "f", Changes: []reconcile.Change{{Addr: "hcloud_ssh_key.dev", Action: reconcile.NoOp}}, NotCompared: tc.notes}
			if err := JSON(&b, p); err != nil {
				t.Fatal(err)
			}
			var v struct {
				Summary Summary `json:"summary"`
			}
			if err := json.Unmarshal(b.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, v.Summary); d != "" {
				t.Errorf("summary (-want +got):\n%s", d)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, samplePlan(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", b.Bytes())
	var v struct {
		FormatVersion   string `json:"format_version"`
		ResourceChanges []struct {
			Change struct{ Actions []string } `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.FormatVersion != FormatVersion || strings.Join(v.ResourceChanges[3].Change.Actions, ",") != "delete,create" {
		t.Errorf("%+v", v)
	}
}

func TestGitLabReport(t *testing.T) {
	var b bytes.Buffer
	if err := GitLabReport(&b, samplePlan(t)); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(b.String()); got != `{"create":2,"update":2,"delete":2}` {
		t.Errorf("got %s", got)
	}
}

// destroyPlan is a destroy plan as plan --destroy saves it: one delete per
// resource of the fleet, an autoscaled instance among them.
func destroyPlan(t *testing.T) *reconcile.Plan {
	t.Helper()
	p := &reconcile.Plan{
		Fleet: "gitlab-ci",
		Mode:  reconcile.ModeDestroy,
		Changes: []reconcile.Change{
			{Addr: "hcloud_ssh_key.dev", Action: reconcile.Delete, ID: 1, Steps: []reconcile.Step{reconcile.StepDelete},
				Before: reconcile.Values{"name": "dev", "public_key": "ssh-ed25519 AAAAC3Nza dev@laptop", "labels": map[string]string{"fleetctl.io/fleet": "gitlab-ci"}}},
			{Addr: "hcloud_firewall.runner", Action: reconcile.Delete, ID: 2, Steps: []reconcile.Step{reconcile.StepRemoveResources, reconcile.StepDelete},
				Before: reconcile.Values{"name": "runner", "rules": []string{"in tcp port 22 from 0.0.0.0/0"}, "apply_to": []string{"runner"}}},
			{Addr: "hcloud_server.runner-docker-autoscaler-a1b2c3", Action: reconcile.Delete, ID: 9, Reason: "the plugin's autoscaled instance of runner docker",
				Steps:  []reconcile.Step{reconcile.StepDelete},
				Before: reconcile.Values{"name": "runner-docker-autoscaler-a1b2c3", "server_type": "cpx21", "status": "running", "protection": false}},
			{Addr: "hcloud_server.runner-manager", Action: reconcile.Delete, ID: 4, Steps: []reconcile.Step{reconcile.StepDisableProtection, reconcile.StepDelete},
				Before: reconcile.Values{"name": "runner-manager", "server_type": "cpx11", "status": "running", "protection": true, "ipv4": "203.0.113.1"}},
		},
		UpstreamGroups: []reconcile.UpstreamGroup{{Runner: "upstream", Name: "up"}},
	}
	path := filepath.Join(t.TempDir(), "destroy.json")
	if err := reconcile.WritePlanFile(path, p); err != nil {
		t.Fatal(err)
	}
	back, err := reconcile.ReadPlanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Mode != reconcile.ModeDestroy || len(back.UpstreamGroups) != 1 {
		t.Fatalf("the plan file lost the mode or the upstream groups: %+v", back)
	}
	return back
}

func TestTextDestroy(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, destroyPlan(t), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "destroy.txt", b.Bytes())

	b.Reset()
	if err := Text(&b, &reconcile.Plan{Fleet: "f", Mode: reconcile.ModeDestroy}, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(b.String()); got != "No changes. No objects need to be destroyed." {
		t.Errorf("empty destroy plan: got %q", got)
	}
}

func TestJSONMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan *reconcile.Plan
		want string
	}{
		{"destroy", destroyPlan(t), "destroy"},
		{"normal", samplePlan(t), ""},
	} {
		var b bytes.Buffer
		if err := JSON(&b, tc.plan); err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		mode, present := v["mode"]
		if tc.want == "" && present || tc.want != "" && mode != tc.want {
			t.Errorf("%s plan: mode %v (present %v), want %q", tc.name, mode, present, tc.want)
		}
		if s, _ := v["summary"].(map[string]any); tc.want != "" && s["destroy"] != float64(4) {
			t.Errorf("%s plan: summary %v", tc.name, s)
		}
	}
}
