package planview

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fleetctl/fleetctl/reconcile"
)

// sampleEvents drives hooks through one event of every kind, as an apply
// that creates a manager, resizes it and writes its files reports them.
func sampleEvents(h reconcile.Hooks) {
	srv := reconcile.Addr("hcloud_server.runner-manager")
	act := reconcile.CloudAction{ID: 7, Command: "create_server", Status: reconcile.ActionRunning, Progress: 40, Resources: []string{"server: 42"}}
	h.PreOp(reconcile.Op{Addr: "hcloud_ssh_key.dev", Kind: reconcile.OpCreate})
	h.PreOp(reconcile.Op{Addr: "hcloud_firewall.runner", Kind: reconcile.OpSetRules, Rules: 2})
	h.PreOp(reconcile.Op{Addr: "hcloud_ssh_key.old", Kind: reconcile.OpDelete, ID: 3})
	h.PreOp(reconcile.Op{Addr: "hcloud_firewall.old", Kind: reconcile.OpDetach, ID: 5, From: "label selector runner"})
	h.PreOp(reconcile.Op{Addr: "hcloud_firewall.old", Kind: reconcile.OpDetach, ID: 5, From: "server ci-box (id 77)"})
	h.Waiting(reconcile.ActionWait{State: reconcile.WaitStarted, Action: act})
	h.Waiting(reconcile.ActionWait{State: reconcile.WaitRunning, Action: act, Elapsed: 5200 * time.Millisecond})
	act.Status, act.Progress = reconcile.ActionSuccess, 100
	h.Waiting(reconcile.ActionWait{State: reconcile.WaitDone, Action: act, Elapsed: 11260 * time.Millisecond})
	h.Waiting(reconcile.ActionWait{State: reconcile.WaitFailed, Action: reconcile.CloudAction{ID: 8, Command: "poweron",
		Status: reconcile.ActionError, Resources: []string{"server: 42"}, Error: "action failed"}, Elapsed: time.Second})
	at := time.Date(2026, 12, 4, 17, 0, 2, 0, time.UTC)
	h.Retrying(reconcile.Retry{Method: "POST", Path: "/v1/servers", RateLimited: true, Reset: at, Until: at})
	h.Retrying(reconcile.Retry{Method: "GET", Path: "/v1/actions", Status: "503 Service Unavailable", Attempt: 2, MaxAttempts: 10, Until: at})
	h.Notice(reconcile.Notice{Addr: srv, Message: "found the server an earlier apply created [id=42]"})
	h.PreOp(reconcile.Op{Addr: srv, Kind: reconcile.OpShutdown, ID: 42})
	h.PreOp(reconcile.Op{Addr: srv, Kind: reconcile.OpPowerOff, ID: 42, Status: "running", Timeout: 2 * time.Minute})
	h.PreOp(reconcile.Op{Addr: srv, Kind: reconcile.OpConnect, Server: "runner-manager", Endpoint: "203.0.113.1:22"})
	h.PreOp(reconcile.Op{Addr: srv, Kind: reconcile.OpCloudInit, Server: "runner-manager"})
	h.PreOp(reconcile.Op{Addr: reconcile.AddrBinary, Kind: reconcile.OpRecordDigest, Path: "/usr/local/bin/fleetctl", DigestRecord: "/var/lib/fleetctl/fleetctl.sha256"})
	h.PreOp(reconcile.Op{Addr: reconcile.AddrConfigTOML, Kind: reconcile.OpWrite, Path: "/etc/gitlab-runner/config.toml", Size: 1234, Mode: 0o600})
	h.PreOp(reconcile.Op{Addr: reconcile.AddrFleetYAML, Kind: reconcile.OpSetAttributes, Path: "/etc/fleetctl/fleet.yaml", Mode: 0o600})
	h.PreOp(reconcile.Op{Addr: reconcile.AddrRestart, Kind: reconcile.OpRestart, Server: "runner-manager"})
	h.PostChange(reconcile.Result{Addr: srv, Verb: "created"})
	h.PostChange(reconcile.Result{Addr: reconcile.AddrConfigTOML, Verb: "written"})
}

// The text view's lines are those apply printed on stderr before it
// reported through hooks; scripts and CI logs grep them.
func TestTextHooks(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	sampleEvents(NewTextHooks(&buf))
	golden(t, "progress.txt", buf.Bytes())
	if strings.Contains(buf.String(), "runner-manager created\n") {
		t.Error("the text view printed a result: the command prints them on stdout")
	}
}

func TestJSONHooks(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := NewJSONHooks(&buf)
	h.Now = func() time.Time { return time.Date(2026, 12, 4, 18, 0, 0, 0, time.FixedZone("CET", 3600)) }
	h.Version("apply")
	h.Plan(samplePlan(t))
	sampleEvents(h)
	h.Summary("apply", reconcile.Counts{Add: 1, Change: 2, Destroy: 2})
	h.Error(errors.New("apply stopped after 2 change(s): hcloud_server.runner-manager: poweron: action failed"))
	golden(t, "progress.jsonl", buf.Bytes())

	var text bytes.Buffer
	sampleEvents(NewTextHooks(&text))
	textLines := strings.Split(strings.TrimSpace(text.String()), "\n")
	for i, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if e.Timestamp != "2026-12-04T17:00:00Z" || e.Type == "" || e.Message == "" {
			t.Errorf("line %d lacks a UTC timestamp, a type or a message: %s", i+1, line)
		}
		if e.Type == EventChangeStart || strings.HasPrefix(e.Type, "action_") || e.Type == EventRetry || e.Type == EventNotice {
			if len(textLines) == 0 || e.Message != textLines[0] {
				t.Errorf("line %d: message %q, want the text view's %q", i+1, e.Message, textLines)
			}
			textLines = textLines[1:]
		}
	}
}
