package reconcile

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The session's hooks mask every resolved secret, whatever view prints
// the events: a notice carries an error's text, paths come from fleet.yaml.
func TestMaskedHooks(t *testing.T) {
	t.Parallel()
	const secret = "glrt-masked-hooks-SECRET"
	secrets := NewSecrets()
	secrets.Add(secret)
	var out bytes.Buffer
	h := maskedHooks{next: lineHooks(&out), secrets: secrets}
	h.PreOp(Op{Addr: AddrConfigTOML, Kind: OpWrite, Path: "/etc/" + secret, Mode: 0o600})
	h.PreOp(Op{Addr: "hcloud_firewall.x", Kind: OpDetach, From: "server " + secret})
	h.Notice(Notice{Addr: AddrBinary, Message: "record: token=" + secret})
	h.Waiting(ActionWait{State: WaitFailed, Action: CloudAction{Command: "poweron", Error: secret}})
	h.Retrying(Retry{Method: "GET", Path: "/v1/" + secret, Status: "503 " + secret, Attempt: 1, MaxAttempts: 3, Until: time.Unix(0, 0)})
	if strings.Contains(out.String(), secret) || strings.Count(out.String(), Sensitive) != 6 {
		t.Errorf("events not masked:\n%s", out.String())
	}
}

// A writer given as Progress gets the text view's lines; results are not
// among them (Apply returns them).
func TestLineHooks(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	h := lineHooks(&out)
	h.PreOp(Op{Addr: "hcloud_server.m", Kind: OpCreate})
	h.PostChange(Result{Addr: "hcloud_server.m", Verb: "created"})
	h.Waiting(ActionWait{State: WaitDone, Action: CloudAction{Command: "create_server", Resources: []string{"server: 1"}}, Elapsed: 1234 * time.Millisecond})
	want := "hcloud_server.m: Creating...\nWaiting for create_server (server: 1) ... done (1.2s)\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
