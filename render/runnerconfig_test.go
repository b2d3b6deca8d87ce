package render

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// Known secret values: tests resolve references to these and then check
// where they do and do not appear.
var testSecrets = map[string]string{
	"env RUNNER_TOKEN":  "glrt-test-runner-token",
	"env HCLOUD_TOKEN":  "hcloud-test-token",
	"env S3_ACCESS_KEY": "s3-access-key-value",
	"file ~/s3-secret":  "s3-secret-key-value",
}

func testSecret(s spec.Secret) (string, error) {
	if v, ok := testSecrets[s.String()]; ok {
		return v, nil
	}
	return "", fmt.Errorf("%s is not set", s)
}

const tutorialUserData = `#cloud-config
package_update: true
package_upgrade: true

apt:
  sources:
    docker.list:
      source: deb [signed-by=$KEY_FILE] https://download.docker.com/linux/debian $RELEASE stable
      keyid: 9DC858229FC7DD38854AE2D88D81803C0EBFCD88

packages:
  - ca-certificates
  - docker-ce

swap:
  filename: /var/swap.bin
  size: auto
  maxsize: 4294967296 # 4GB
`

func intp(n int) *int    { return &n }
func boolp(b bool) *bool { return &b }

// tutorialFleet is the tutorial as a loaded fleet.yaml, with the given
// plugin.
func tutorialFleet(plugin string) *spec.Fleet {
	return &spec.Fleet{
		Version: 1,
		Name:    "gitlab-ci",
		HCloud:  spec.HCloud{Token: &spec.Secret{Env: "HCLOUD_TOKEN"}},
		Manager: spec.Manager{
			Name: "runner-manager", ServerType: "cpx11", Image: "debian-12", Location: "hel1",
			SSHKeys: []string{"dev"}, Labels: map[string]string{"runner": ""},
			SpecPath: spec.DefaultSpecPath,
		},
		GitLabRunner: spec.GitLabRunner{
			Concurrent: 10,
			LogLevel:   "info",
			LogFormat:  "text",
			Runners: []spec.Runner{{
				Name:     "hetzner-docker-autoscaler",
				URL:      "https://gitlab.com",
				Token:    spec.Secret{Env: "RUNNER_TOKEN"},
				Executor: "docker-autoscaler",
				Docker:   &spec.Docker{Image: "alpine:latest"},
				Autoscaler: &spec.Autoscaler{
					Plugin:               plugin,
					CapacityPerInstance:  4,
					MaxInstances:         5,
					MaxUseCount:          intp(0),
					InstanceReadyCommand: "cloud-init status --wait || test $? -eq 2",
					ConnectorConfig:      &spec.ConnectorConfig{UseExternalAddr: true},
					Policy: []spec.Policy{{
						Periods: []string{"* * * * *"}, Timezone: "Europe/Berlin", IdleCount: 8, IdleTime: "1h",
					}},
					Instances: spec.Instances{
						Name: "runner-docker-autoscaler", Location: "hel1",
						ServerType: spec.StringList{"cpx21"}, Image: "debian-12",
						UserData: tutorialUserData,
					},
				},
			}},
		},
	}
}

// fullFleet sets every field render knows, to show each in a golden file.
func fullFleet(plugin string) *spec.Fleet {
	f := tutorialFleet(plugin)
	f.HCloud.Endpoint = "https://api.example.test/v1"
	f.Manager.SpecPath = "/srv/fleetctl/fleet.yaml"
	g := &f.GitLabRunner
	g.CheckInterval = 3
	g.LogLevel = "debug"
	g.LogFormat = "json"
	g.ListenAddress = ":9252"
	g.ShutdownTimeout = 60
	r := &g.Runners[0]
	r.Limit = 20
	r.RequestConcurrency = 2
	r.OutputLimit = 8192
	r.Environment = []string{"DOCKER_DRIVER=overlay2", `QUOTED="yes"`}
	r.Docker = &spec.Docker{
		Image:         "debian:12",
		Privileged:    true,
		Volumes:       []string{"/cache", "/var/run/docker.sock:/var/run/docker.sock"},
		PullPolicy:    []string{"if-not-present", "always"},
		AllowedImages: []string{"debian:*", "alpine:*"},
		Memory:        "2g",
		CPUs:          "1.5",
		ShmSize:       268435456,
		DisableCache:  true,
		NetworkMode:   "host",
		Tmpfs:         map[string]string{"/var/lib/mysql": "rw,noexec", "/tmp": "rw"},
	}
	r.Cache = &spec.Cache{
		Type:   "s3",
		Path:   "runners",
		Shared: true,
		S3: &spec.CacheS3{
			ServerAddress:  "fsn1.your-objectstorage.com",
			AccessKey:      &spec.Secret{Env: "S3_ACCESS_KEY"},
			SecretKey:      &spec.Secret{File: "~/s3-secret"},
			BucketName:     "ci-cache",
			BucketLocation: "fsn1",
			Insecure:       true,
		},
	}
	a := r.Autoscaler
	a.MaxUseCount = intp(50)
	a.InstanceReadyCommand = "cloud-init status --wait\ntest -S /var/run/docker.sock"
	a.InstanceAcquireTimeout = "15m"
	a.UpdateInterval = "1m"
	a.UpdateIntervalWhenExpecting = "2s"
	a.DeleteInstancesOnShutdown = true
	a.LogInternalIP = true
	a.LogExternalIP = true
	a.StateStorage = &spec.StateStorage{Enabled: true, Dir: "/var/lib/gitlab-runner/state", KeepInstanceWithAcquisitions: true}
	a.ScaleThrottle = &spec.ScaleThrottle{Limit: 10, Burst: 5}
	a.ConnectorConfig = &spec.ConnectorConfig{
		OS: "linux", Arch: "amd64", Protocol: "ssh", ProtocolPort: 2222, Username: "ci",
		UseStaticCredentials: true, KeyPath: "/etc/fleetctl/instance-key", Keepalive: "30s", Timeout: "10m",
		UseExternalAddr: true,
	}
	a.Policy = append(a.Policy, spec.Policy{
		Periods:          []string{"* 7-19 * * mon-fri"},
		Timezone:         "Europe/Berlin",
		IdleCount:        2,
		IdleTime:         "20m30s",
		ScaleFactor:      0.5,
		ScaleFactorLimit: 4,
		PreemptiveMode:   boolp(false),
	})
	a.Instances.ServerType = spec.StringList{"cpx21", "cx32"}
	a.Instances.Labels = map[string]string{"team": "platform", "cost-center": "ci"}
	a.Instances.PrivateNetworks = []string{"ci-net", "12345"}
	a.Instances.PublicIPv4Disabled = true
	a.Instances.PublicIPv6Disabled = true
	a.Instances.VolumeSize = 20
	return f
}

func goldenPath(name string) string { return filepath.Join("testdata", name) }

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := goldenPath(name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs from the rendered output (-want +got), run go test ./render -update if intended:\n%s", path, d)
	}
}

func TestRunnerConfigGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fleet  *spec.Fleet
		secret SecretFunc
	}{
		{"full-upstream.toml", fullFleet("hetznercloud/fleeting-plugin-hetzner:v1.0.0"), testSecret},
		{"full-fleetctl.toml", fullFleet(""), testSecret},
		{"full-fleetctl-masked.toml", fullFleet(""), MaskSecrets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := RunnerConfig(tt.fleet, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, got)
			again, err := RunnerConfig(tt.fleet, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Error("two renders of the same fleet differ")
			}
		})
	}
}

func decodeTOML(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		t.Fatalf("decode TOML: %v\n%s", err, data)
	}
	return m
}

func autoscalerOf(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	runners, ok := doc["runners"].([]map[string]any)
	if !ok || len(runners) != 1 {
		t.Fatalf("want one [[runners]], got %#v", doc["runners"])
	}
	a, ok := runners[0]["autoscaler"].(map[string]any)
	if !ok {
		t.Fatalf("no [runners.autoscaler] in %#v", runners[0])
	}
	return a
}

// The rendered tutorial decodes to exactly the tutorial's config.toml: every
// key and value, none missing, none added. With the fleetctl plugin only
// plugin and plugin_config differ. Checked for the shipped examples and for
// the same fleet built in Go.
func TestRunnerConfigMatchesTutorial(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		upstream, fleetctl *spec.Fleet
	}{
		{"examples", loadExample(t, "fleet.upstream-plugin.yaml"), loadExample(t, "fleet.yaml")},
		{"go", tutorialFleet("hetznercloud/fleeting-plugin-hetzner:latest"), tutorialFleet("fleetctl")},
	}
	tutorial, err := os.ReadFile(goldenPath("tutorial-config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			upstream, err := RunnerConfig(tt.upstream, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			want := decodeTOML(t, tutorial)
			if d := cmp.Diff(want, decodeTOML(t, upstream)); d != "" {
				t.Errorf("upstream plugin: rendered config.toml differs from the tutorial's (-tutorial +rendered):\n%s", d)
			}

			fleetctl, err := RunnerConfig(tt.fleetctl, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeTOML(t, fleetctl)
			gotAutoscaler := autoscalerOf(t, got)
			if d := cmp.Diff("/usr/local/bin/fleetctl", gotAutoscaler["plugin"]); d != "" {
				t.Errorf("fleetctl plugin path (-want +got):\n%s", d)
			}
			wantPluginConfig := map[string]any{
				"spec":   "/etc/fleetctl/fleet.yaml",
				"runner": "hetzner-docker-autoscaler",
				"token":  "hcloud-test-token",
			}
			if d := cmp.Diff(wantPluginConfig, gotAutoscaler["plugin_config"]); d != "" {
				t.Errorf("fleetctl plugin_config (-want +got):\n%s", d)
			}
			wantAutoscaler := autoscalerOf(t, want)
			for _, k := range []string{"plugin", "plugin_config"} {
				delete(wantAutoscaler, k)
				delete(gotAutoscaler, k)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("fleetctl plugin: apart from plugin and plugin_config, rendered config.toml differs from the tutorial's (-tutorial +rendered):\n%s", d)
			}
		})
	}
}

// loadExample loads a shipped example as fleetctl does.
func loadExample(t *testing.T, name string) *spec.Fleet {
	t.Helper()
	f, err := spec.Load(filepath.Join("..", "examples", "tutorial", name))
	if err != nil {
		t.Fatalf("load example %s: %v", name, err)
	}
	return f
}

func TestExamplesGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"fleet.yaml", "fleet.upstream-plugin.yaml"} {
		f := loadExample(t, name)
		base := "example-" + strings.TrimSuffix(name, ".yaml")
		shown, err := RunnerConfig(f, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, base+".toml", shown)
		masked, err := RunnerConfig(f, MaskSecrets)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, base+".masked.toml", masked)
		cloudInit, err := ManagerCloudInit(f, testHostKey)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, base+".cloud-init.yaml", cloudInit)
	}
}

func TestRunnerConfigMaskedHoldsNoSecret(t *testing.T) {
	t.Parallel()
	for _, plugin := range []string{"fleetctl", "hetznercloud/fleeting-plugin-hetzner:latest"} {
		f := fullFleet(plugin)
		masked, err := RunnerConfig(f, MaskSecrets)
		if err != nil {
			t.Fatal(err)
		}
		for ref, value := range testSecrets {
			if strings.Contains(string(masked), value) {
				t.Errorf("%s: masked output holds the value of %s", plugin, ref)
			}
			if !strings.Contains(string(masked), "<masked: "+ref+">") {
				t.Errorf("%s: masked output does not show where %s goes", plugin, ref)
			}
		}
		shown, err := RunnerConfig(f, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		// Same shape: the same keys, only secret values differ.
		if d := cmp.Diff(keyPaths(decodeTOML(t, shown), ""), keyPaths(decodeTOML(t, masked), "")); d != "" {
			t.Errorf("%s: masked output has other keys than the real one (-real +masked):\n%s", plugin, d)
		}
	}
}

// keyPaths lists every key of a decoded TOML document as a dotted path.
func keyPaths(v any, prefix string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			out = append(out, prefix+k)
			out = append(out, keyPaths(sub, prefix+k+".")...)
		}
	case []map[string]any:
		for i, sub := range v {
			out = append(out, keyPaths(sub, fmt.Sprintf("%s%d.", prefix, i))...)
		}
	}
	return sortedStrings(out)
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func TestRunnerConfigSecretErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		missing string
		wantErr string
	}{
		{"runner token", "env RUNNER_TOKEN", "gitlab_runner.runners[0].token: env RUNNER_TOKEN is not set"},
		{"hcloud token", "env HCLOUD_TOKEN", "hcloud.token: env HCLOUD_TOKEN is not set"},
		{"s3 access key", "env S3_ACCESS_KEY", "gitlab_runner.runners[0].cache.s3.access_key: env S3_ACCESS_KEY is not set"},
		{"s3 secret key", "file ~/s3-secret", "gitlab_runner.runners[0].cache.s3.secret_key: file ~/s3-secret is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secret := func(s spec.Secret) (string, error) {
				if s.String() == tt.missing {
					return "", fmt.Errorf("%s is not set", s)
				}
				return testSecret(s)
			}
			out, err := RunnerConfig(fullFleet("fleetctl"), secret)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if d := cmp.Diff(tt.wantErr, err.Error()); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(tt.wantErr, fe.Path+": ") {
				t.Errorf("error %v does not carry its field path as a *FieldError", err)
			}
			for ref, value := range testSecrets {
				if strings.Contains(err.Error(), value) {
					t.Errorf("error holds the value of %s", ref)
				}
			}
		})
	}
}

func TestRunnerConfigRefusesUnknownPlugin(t *testing.T) {
	t.Parallel()
	_, err := RunnerConfig(tutorialFleet("docker-machine"), testSecret)
	want := `gitlab_runner.runners[0].autoscaler.plugin: unknown plugin "docker-machine": use "fleetctl" or "hetznercloud/fleeting-plugin-hetzner:latest"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestRunnerConfigRunnerWithoutAutoscaler(t *testing.T) {
	t.Parallel()
	f := tutorialFleet("")
	f.GitLabRunner.Runners[0].Autoscaler = nil
	f.GitLabRunner.Runners[0].Executor = ""
	hcloudAsked := false
	got, err := RunnerConfig(f, func(s spec.Secret) (string, error) {
		if s.Env == "HCLOUD_TOKEN" {
			hcloudAsked = true
		}
		return testSecret(s)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `concurrent = 10
log_level = "info"
log_format = "text"

[[runners]]
name = "hetzner-docker-autoscaler"
url = "https://gitlab.com"
token = "glrt-test-runner-token"
executor = "docker-autoscaler"

[runners.docker]
image = "alpine:latest"
`
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if hcloudAsked {
		t.Error("the Hetzner token was resolved although no runner autoscales")
	}
}

func TestMultilineStringRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []string{
		"a\nb",
		"\nleading newline",
		"trailing newline\n",
		"ends in a quote\n\"",
		"three quotes \"\"\" inside\n",
		"two quotes \"\" then one \"\n",
		"backslash \\ and line continuation \\\nnext",
		"tab\tand CRLF\r\nand lone CR\rend\n",
		"control \x01\x1f\x7f chars\n",
		"unicode ✓ and $VARS ${KEY_FILE} #comment\n",
		"'''\nliteral quotes\n'''",
		"\n\n",
	}
	for _, s := range tests {
		checkMultilineRoundTrip(t, s)
	}
}

func checkMultilineRoundTrip(t *testing.T, s string) {
	t.Helper()
	doc := "v = " + multilineString(s) + "\n"
	var got struct{ V string }
	if _, err := toml.Decode(doc, &got); err != nil {
		t.Fatalf("%q: encoded as %s which does not decode: %v", s, doc, err)
	}
	if got.V != s {
		t.Errorf("%q: decodes to %q", s, got.V)
	}
}

func FuzzMultilineString(f *testing.F) {
	f.Add(tutorialUserData)
	f.Add("\"\"\"\\\n\r")
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.Contains(s, "\n") || !utf8.ValidString(s) {
			return
		}
		checkMultilineRoundTrip(t, s)
	})
}

// The user data reaches the file byte for byte, as a readable multi-line
// string, whatever it holds.
func TestRunnerConfigUserDataPassesThrough(t *testing.T) {
	t.Parallel()
	for _, userData := range []string{tutorialUserData, "#!/bin/sh\necho \"$RELEASE\" \\\n  > /tmp/x\r\n\"\"\"", "single line"} {
		f := tutorialFleet("hetznercloud/fleeting-plugin-hetzner:latest")
		f.GitLabRunner.Runners[0].Autoscaler.Instances.UserData = userData
		out, err := RunnerConfig(f, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		pc := autoscalerOf(t, decodeTOML(t, out))["plugin_config"].(map[string]any)
		if d := cmp.Diff(userData, pc["user_data"]); d != "" {
			t.Errorf("user_data does not round-trip (-want +got):\n%s", d)
		}
	}
}

func TestRunnerConfigNoFleet(t *testing.T) {
	t.Parallel()
	if _, err := RunnerConfig(nil, testSecret); err == nil {
		t.Error("no error for a nil fleet")
	}
	errBoom := errors.New("boom")
	if _, err := RunnerConfig(tutorialFleet(""), func(spec.Secret) (string, error) { return "", errBoom }); !errors.Is(err, errBoom) {
		t.Errorf("the secret error is not wrapped: %v", err)
	}
}

// Whatever text fleet.yaml holds, gitlab-runner reads back exactly that text.
func FuzzRunnerConfigRoundTrip(f *testing.F) {
	f.Add("hetzner-docker-autoscaler", "cloud-init status --wait || test $? -eq 2", tutorialUserData, "team", "platform", "A=b")
	f.Add(`q"uote`, "multi\nline\r\n\"\"\"", "\n", "k.example/x", "", `C=$HOME\`)
	f.Fuzz(func(t *testing.T, name, ready, userData, labelKey, labelValue, env string) {
		for _, s := range []string{name, ready, userData, labelKey, labelValue, env} {
			if !utf8.ValidString(s) {
				return // fleet.yaml is YAML, which is valid UTF-8
			}
		}
		fl := tutorialFleet("hetznercloud/fleeting-plugin-hetzner:latest")
		r := &fl.GitLabRunner.Runners[0]
		r.Name = name
		r.Environment = []string{env}
		r.Autoscaler.InstanceReadyCommand = ready
		r.Autoscaler.Instances.UserData = userData
		r.Autoscaler.Instances.Labels = map[string]string{labelKey: labelValue}
		out, err := RunnerConfig(fl, testSecret)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		var cfg glrConfig
		if _, err := toml.Decode(string(out), &cfg); err != nil {
			t.Fatalf("decode: %v\n%s", err, out)
		}
		got := cfg.Runners[0]
		pc := got.Autoscaler.PluginConfig
		want := []any{name, []string{env}, ready, userData, map[string]any{labelKey: labelValue}}
		seen := []any{got.Name, got.Environment, got.Autoscaler.InstanceReadyCommand, pc["user_data"], pc["labels"]}
		if userData == "" {
			want[3] = nil
		}
		if d := cmp.Diff(want, seen); d != "" {
			t.Errorf("values change on the way through config.toml (-fleet.yaml +gitlab-runner):\n%s\n%s", d, out)
		}
	})
}
