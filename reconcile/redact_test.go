package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSecretsRedact(t *testing.T) {
	t.Parallel()
	const token = "glrt-unit-SECRET-9000"
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBm\n-----END OPENSSH PRIVATE KEY-----\n"
	s := NewSecrets()
	s.Add(token)
	s.Add("p@ss word/+?&x")
	s.Add(key)
	s.Add("abc") // too short to mask inside words
	s.Add(token + "-longer")
	for _, tc := range []struct{ name, in, want string }{
		{"whole", token, Sensitive},
		{"inside an environment entry", "FOO=" + token, "FOO=" + Sensitive},
		{"twice", token + " " + token, Sensitive + " " + Sensitive},
		{"a secret containing another is masked whole", "x" + token + "-longer", "x" + Sensitive},
		{"query-escaped", "https://h/?t=" + url.QueryEscape("p@ss word/+?&x"), "https://h/?t=" + Sensitive},
		{"path-escaped", "https://h/" + url.PathEscape("p@ss word/+?&x"), "https://h/" + Sensitive},
		{"the whole private key", "k=" + key, "k=" + Sensitive},
		{"one line of the private key", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", Sensitive},
		{"a short secret alone", "abc", Sensitive},
		{"a short secret inside a word stays", "abcdef", "abcdef"},
		{"nothing known", "hello", "hello"},
	} {
		if got := s.Redact(tc.in); got != tc.want {
			t.Errorf("%s: Redact(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
	var nilSet *Secrets
	if got := nilSet.Redact(token); got != token {
		t.Errorf("a nil set changed %q to %q", token, got)
	}
}

func TestRedactError(t *testing.T) {
	t.Parallel()
	s := NewSecrets()
	s.Add("hcloud-unit-SECRET-1")
	base := fs.ErrPermission
	err := s.RedactError(fmt.Errorf("request with token hcloud-unit-SECRET-1: %w", base))
	if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), Sensitive) {
		t.Errorf("error not masked: %v", err)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Error("masking lost the wrapped error")
	}
	if s.RedactError(nil) != nil {
		t.Error("nil error became non-nil")
	}
}

func TestRedactingWriterMasksSecretsWrittenInPieces(t *testing.T) {
	t.Parallel()
	s := NewSecrets()
	s.Add("glrt-pieces-SECRET-77")
	var b strings.Builder
	w := s.Writer(&b)
	for _, piece := range []string{"token glrt-pie", "ces-SECRET-77 used\nnext glrt-pieces", "-SECRET-77"} {
		if _, err := w.Write([]byte(piece)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "token (sensitive) used\nnext (sensitive)"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestLooksSecret(t *testing.T) {
	t.Parallel()
	for _, k := range []string{
		"runners[0].token", "runners[0].cache.s3.AccessKey", "runners[0].cache.s3.SecretKey", "runners[0].cache.s3.access_key",
		"runners[0].cache.s3.secretKey", "x.SECRET_KEY", "runners[0].cache.s3.SessionToken", "runners[0].cache.azure.AccountKey",
		"a.password", "a.Private-Key", "hcloud.token", "docker.registry_password",
	} {
		if !looksSecret(k) {
			t.Errorf("%s does not look secret", k)
		}
	}
	for _, k := range []string{"concurrent", "runners[0].name", "runners[0].autoscaler.policy[0].idle_count", "runners[0].url"} {
		if looksSecret(k) {
			t.Errorf("%s looks secret", k)
		}
	}
}

// liveConfigDesired is testDesired with a live config.toml edited by hand.
func liveConfig(t *testing.T, live string) (*Desired, *Live) {
	t.Helper()
	d, l := testDesired(), testLive()
	l.Files[AddrConfigTOML] = LiveFile{Exists: true, Mode: 0o600, Content: []byte(live)}
	return d, l
}

func TestDiffMasksLiveValues(t *testing.T) {
	t.Parallel()
	const (
		known   = "glrt-known-SECRET-4242"
		unknown = "unknown-hand-SECRET-1337"
	)
	live := `concurrent = 10
check_interval = 7
listen_address = "` + known + `"
hand_written = "` + unknown + `"
[[runners]]
name = "r"
url = "https://oauth2:` + unknown + `@gitlab.example.com"
token = "glrt-SECRET"
environment = ["FOO=` + known + `", "BAR=` + unknown + `"]
[runners.autoscaler]
max_instances = 5
[[runners.autoscaler.policy]]
idle_count = 8
idle_time = "1h"
[runners.cache]
Type = "s3"
[runners.cache.s3]
ServerAddress = "fsn1.your-objectstorage.com"
AccessKey = "` + unknown + `a"
SecretKey = "` + unknown + `s"
[runners.docker]
image = "alpine"
privileged = true
`
	d, l := liveConfig(t, live)
	d.Secrets = NewSecrets()
	d.Secrets.Add(known)
	p := Diff(d, l, false)
	ch := p.Change(AddrConfigTOML)
	if ch == nil || ch.Action != Update {
		t.Fatalf("config.toml: %+v", ch)
	}
	want := map[string]any{
		"content.check_interval":                             float64(7),
		"content.listen_address":                             Sensitive,
		"content.hand_written":                               Sensitive,
		"content.runners[0].url":                             "https://(sensitive)@gitlab.example.com",
		"content.runners[0].environment":                     []any{"FOO=(sensitive)", "BAR=(sensitive)"},
		"content.runners[0].cache.Type":                      "s3",
		"content.runners[0].cache.s3.ServerAddress":          "fsn1.your-objectstorage.com",
		"content.runners[0].cache.s3.AccessKey":              Sensitive,
		"content.runners[0].cache.s3.SecretKey":              Sensitive,
		"content.runners[0].docker.image":                    "alpine",
		"content.runners[0].docker.privileged":               true,
		"content.runners[0].token":                           Sensitive,
		"content.concurrent":                                 float64(10),
		"content.runners[0].name":                            "r",
		"content.runners[0].autoscaler.max_instances":        float64(5),
		"content.runners[0].autoscaler.policy[0].idle_count": float64(8),
		"content.runners[0].autoscaler.policy[0].idle_time":  "1h0m0s", // as NormalizeConfig writes it
	}
	got := map[string]any{}
	for k, v := range ch.Before {
		if strings.HasPrefix(k, "content.") {
			got[k] = v
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("live values shown (-want +got):\n%s", d)
	}
	b, _ := json.Marshal(p)
	for _, secret := range []string{known, unknown} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the plan holds %q:\n%s", secret, b)
		}
	}
}

func TestDiffMasksResolvedSecretsEverywhere(t *testing.T) {
	t.Parallel()
	const known = "hcloud-everywhere-SECRET-5150"
	d, l := testDesired(), testLive()
	d.Secrets = NewSecrets()
	d.Secrets.Add(known)
	// A user label and a firewall description holding the token, a note
	// quoting it: whatever the plan shows is masked.
	l.Firewalls[0].Labels = owner(RoleFirewall, map[string]string{"note": known})
	d.Notes = []Note{{Subject: "x", Message: "value " + known}}
	l.FileNotes = []Note{{Subject: string(AddrFleetYAML), Message: "read: " + known}}
	p := Diff(d, l, false)
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), known) {
		t.Errorf("the plan holds the token:\n%s", b)
	}
	if !strings.Contains(string(b), `"note":"(sensitive)"`) {
		t.Errorf("the label is not shown masked:\n%s", b)
	}
}

// TestRedactPlanMasksDeposedNames: a replace shows the name of the object
// it deletes; that name is masked like every value a plan shows, while the
// ID apply deletes stays.
func TestRedactPlanMasksDeposedNames(t *testing.T) {
	t.Parallel()
	const known = "deposed-name-SECRET-2718"
	s := NewSecrets()
	s.Add(known)
	deposed := &DeposedObject{ID: 5, Name: "mgr-" + known}
	p := &Plan{Changes: []Change{{Addr: "hcloud_server.mgr", Action: CreateThenDelete, ID: 5, Deposed: deposed, TemporaryName: "mgr-next"}}}
	s.redactPlan(p)
	if d := cmp.Diff(&DeposedObject{ID: 5, Name: "mgr-" + Sensitive}, p.Changes[0].Deposed); d != "" {
		t.Errorf("deposed (-want +got):\n%s", d)
	}
	if deposed.Name != "mgr-"+known {
		t.Error("redactPlan changed the deposed object it was given instead of a copy")
	}
}

func TestMaskURLCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://gitlab.com", "https://gitlab.com"},
		{"https://oauth2:glpat-x@gitlab.com/group", "https://(sensitive)@gitlab.com/group"},
		{"https://glpat-x@gitlab.com", "https://(sensitive)@gitlab.com"},
		{"https://gitlab.com/a@b", "https://gitlab.com/a@b"},
		{"https://gitlab.com/api?private_token=glpat-x&per_page=5", "https://gitlab.com/api?private_token=(sensitive)&per_page=5"},
		{"not a url user:pw@host", "not a url user:pw@host"},
	} {
		if got := maskURLPassword(tc.in); got != tc.want {
			t.Errorf("maskURLPassword(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
