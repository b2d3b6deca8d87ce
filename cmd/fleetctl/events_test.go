package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// event is what a test reads of one line of the JSON event stream.
type event struct {
	Type          string `json:"type"`
	Timestamp     string `json:"timestamp"`
	Message       string `json:"message"`
	Address       string `json:"address"`
	Action        string `json:"action"`
	Result        string `json:"result"`
	FormatVersion string `json:"format_version"`
	Operation     string `json:"operation"`
	Path          string `json:"path"`
	Changes       *struct {
		Add, Change, Destroy int
	} `json:"changes"`
}

// events parses stdout as JSON lines: every line one object with a type,
// an RFC 3339 timestamp and a message.
func events(t *testing.T, stdout string) []event {
	t.Helper()
	var out []event
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %d is not JSON (%v): %s", i+1, err, line)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil || e.Type == "" || e.Message == "" {
			t.Errorf("line %d lacks a type, timestamp or message: %s", i+1, line)
		}
		out = append(out, e)
	}
	return out
}

// has reports whether an event of the type matches every non-empty field
// of want.
func has(evs []event, want event) bool {
	return slices.ContainsFunc(evs, func(e event) bool {
		return e.Type == want.Type && (want.Address == "" || e.Address == want.Address) &&
			(want.Action == "" || e.Action == want.Action) && (want.Result == "" || e.Result == want.Result) &&
			(want.Path == "" || e.Path == want.Path)
	})
}

func TestApplyDestroyJSONEvents(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	fleet, _, bin := simFleet(t)

	r := runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin, "-o", "json")
	noKnownSecrets(t, "apply -o json", r.stdout, r.stderr)
	if r.code != 0 {
		t.Fatalf("apply -o json: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "Waiting for") || strings.Contains(r.stderr, "Creating...") {
		t.Errorf("apply -o json printed the text view's progress on stderr:\n%s", r.stderr)
	}
	evs := events(t, r.stdout)
	if first := evs[0]; first.Type != "version" || first.FormatVersion != "1.0" || first.Operation != "apply" {
		t.Errorf("first event %+v, want the version", first)
	}
	last := evs[len(evs)-1]
	if last.Type != "summary" || last.Changes == nil || last.Changes.Add != 6 || last.Changes.Destroy != 0 {
		t.Errorf("last event %+v, want a summary of 6 added", last)
	}
	for _, want := range []event{
		{Type: "planned_change", Address: "hcloud_ssh_key.dev", Action: "create"},
		{Type: "planned_change", Address: "file.config_toml", Action: "create"},
		{Type: "change_start", Address: "hcloud_server.runner-manager", Action: "create"},
		{Type: "action_start", Action: "create_server"},
		{Type: "action_complete", Action: "create_server"},
		{Type: "change_start", Address: "hcloud_server.runner-manager", Action: "connect"},
		{Type: "change_start", Address: "file.config_toml", Action: "write", Path: "/etc/gitlab-runner/config.toml"},
		{Type: "change_complete", Address: "hcloud_firewall.runner", Result: "created"},
		{Type: "change_complete", Address: "hcloud_server.runner-manager", Result: "created"},
		{Type: "change_complete", Address: "file.config_toml", Result: "written"},
	} {
		if !has(evs, want) {
			t.Errorf("no event %+v in:\n%s", want, r.stdout)
		}
	}

	r = runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin, "-o", "json")
	evs = events(t, r.stdout)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	// Even an apply that changes nothing holds the lock while it reads.
	if r.code != 0 || strings.Join(types, " ") != "version lock lock summary" || *evs[3].Changes != (struct{ Add, Change, Destroy int }{}) ||
		!strings.Contains(evs[1].Message, "fleetctl-lock-cli: acquired") || !strings.Contains(evs[2].Message, "fleetctl-lock-cli: released") {
		t.Errorf("apply -o json without changes: exit %d\n%s", r.code, r.stdout)
	}

	r = runCLI(t, "destroy", "-f", fleet, "--confirm", "other", "-o", "json")
	evs = events(t, r.stdout)
	if r.code != exitError || evs[len(evs)-1].Type != "error" || !strings.Contains(evs[len(evs)-1].Message, "--confirm cli") {
		t.Errorf("destroy -o json with a wrong confirmation: exit %d\n%s", r.code, r.stdout)
	}

	r = runCLI(t, "destroy", "-f", fleet, "--confirm", "cli", "-o", "json")
	noKnownSecrets(t, "destroy -o json", r.stdout, r.stderr)
	if r.code != 0 || strings.Contains(r.stderr, "Destroying") {
		t.Fatalf("destroy -o json: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	evs = events(t, r.stdout)
	if first := evs[0]; first.Type != "version" || first.Operation != "destroy" {
		t.Errorf("first event %+v, want the version", first)
	}
	if last := evs[len(evs)-1]; last.Type != "summary" || last.Changes == nil || last.Changes.Destroy != 3 {
		t.Errorf("last event %+v, want a summary of 3 destroyed", last)
	}
	for _, addr := range []string{"hcloud_ssh_key.dev", "hcloud_firewall.runner", "hcloud_server.runner-manager"} {
		if !has(evs, event{Type: "change_start", Address: addr, Action: "delete"}) ||
			!has(evs, event{Type: "change_complete", Address: addr, Result: "destroyed"}) {
			t.Errorf("no delete of %s in:\n%s", addr, r.stdout)
		}
	}
	if !has(evs, event{Type: "action_complete", Action: "delete_server"}) {
		t.Errorf("no wait on delete_server in:\n%s", r.stdout)
	}

	r = runCLI(t, "apply", "-f", fleet, "-o", "yaml")
	if r.code != exitError || !strings.Contains(r.stderr, `--output "yaml"`) {
		t.Errorf("apply -o yaml: exit %d\n%s", r.code, r.stderr)
	}
}
