package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/spec"
)

func TestDecodeSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    Settings
		wantErr string
	}{
		{name: "empty", raw: ``, want: Settings{}},
		{name: "null", raw: `null`, want: Settings{}},
		{
			name: "all keys",
			raw:  `{"spec":"/etc/fleetctl/fleet.yaml","runner":"r1","token":"t","endpoint":"http://127.0.0.1:1/v1","key_file":"/k"}`,
			want: Settings{Spec: "/etc/fleetctl/fleet.yaml", Runner: "r1", Token: "t", Endpoint: "http://127.0.0.1:1/v1", KeyFile: "/k"},
		},
		{name: "typo is refused", raw: `{"runnner":"r1"}`, wantErr: `unknown field "runnner"`},
		{name: "upstream keys are refused", raw: `{"name":"x","location":"hel1"}`, wantErr: `unknown field "name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeSettings([]byte(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("settings (-want +got):\n%s", d)
			}
		})
	}
}

func TestCredentialsPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	specTokenFile := filepath.Join(dir, "spec-token")
	if err := os.WriteFile(specTokenFile, []byte("from-spec-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name         string
		settings     Settings
		hcloud       spec.HCloud
		env          map[string]string
		wantToken    string
		wantEndpoint string
		wantErr      string
	}{
		{
			name:      "plugin_config beats everything",
			settings:  Settings{Token: "from-config", Endpoint: "http://config"},
			hcloud:    spec.HCloud{Token: &spec.Secret{File: specTokenFile}, Endpoint: "http://spec"},
			env:       map[string]string{"HCLOUD_TOKEN": "from-env", "HCLOUD_ENDPOINT": "http://env"},
			wantToken: "from-config", wantEndpoint: "http://config",
		},
		{
			name:      "fleet.yaml reference beats the environment",
			hcloud:    spec.HCloud{Token: &spec.Secret{File: specTokenFile}, Endpoint: "http://spec"},
			env:       map[string]string{"HCLOUD_TOKEN": "from-env", "HCLOUD_ENDPOINT": "http://env"},
			wantToken: "from-spec-file", wantEndpoint: "http://spec",
		},
		{
			name:      "default reference falls through to HCLOUD_TOKEN",
			hcloud:    spec.HCloud{Token: &spec.Secret{Env: "HCLOUD_TOKEN"}},
			env:       map[string]string{"HCLOUD_TOKEN": "from-env", "HCLOUD_ENDPOINT": "http://env"},
			wantToken: "from-env", wantEndpoint: "http://env",
		},
		{
			name:      "HCLOUD_TOKEN beats HCLOUD_TOKEN_FILE",
			env:       map[string]string{"HCLOUD_TOKEN": "from-env", "HCLOUD_TOKEN_FILE": tokenFile},
			wantToken: "from-env", wantEndpoint: DefaultEndpoint,
		},
		{
			name:      "HCLOUD_TOKEN_FILE, trimmed",
			hcloud:    spec.HCloud{Token: &spec.Secret{Env: "HCLOUD_TOKEN"}},
			env:       map[string]string{"HCLOUD_TOKEN_FILE": tokenFile},
			wantToken: "from-file", wantEndpoint: DefaultEndpoint,
		},
		{
			name:    "fleet.yaml reference to an unset variable",
			hcloud:  spec.HCloud{Token: &spec.Secret{Env: "HCLOUD_RW_TOKEN"}},
			env:     map[string]string{"HCLOUD_TOKEN": "from-env"},
			wantErr: "hcloud.token: environment variable HCLOUD_RW_TOKEN is not set",
		},
		{
			name:    "nothing",
			wantErr: "no Hetzner Cloud API token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token, endpoint, err := credentials(tt.settings, tt.hcloud, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]string{tt.wantToken, tt.wantEndpoint}, []string{token, endpoint}); d != "" {
				t.Errorf("token, endpoint (-want +got):\n%s", d)
			}
		})
	}
}

func testFleet(mutate func(*spec.Runner)) *spec.Fleet {
	f := &spec.Fleet{
		Version: 1,
		Name:    "gitlab-ci",
		Source:  "fleet.yaml",
		GitLabRunner: spec.GitLabRunner{Runners: []spec.Runner{{
			Name: "docker",
			Autoscaler: &spec.Autoscaler{
				Instances: spec.Instances{
					Name:       "ci-docker",
					Location:   "hel1",
					ServerType: spec.StringList{"cpx21", "cpx31"},
					Image:      "debian-12",
					Labels:     map[string]string{"runner": ""},
				},
			},
		}}},
	}
	if mutate != nil {
		mutate(&f.GitLabRunner.Runners[0])
	}
	return f
}

func TestNewGroupConfig(t *testing.T) {
	t.Parallel()
	f := testFleet(nil)
	c, err := newGroupConfig(f, &f.GitLabRunner.Runners[0], "")
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		"runner":         "",
		spec.LabelFleet:  "gitlab-ci",
		spec.LabelRole:   "instance",
		spec.LabelRunner: "docker",
	}
	if d := cmp.Diff(wantLabels, c.labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if got, want := c.selector(), "fleetctl.io/fleet=gitlab-ci,fleetctl.io/role=instance,fleetctl.io/runner=docker"; got != want {
		t.Errorf("selector = %q, want %q", got, want)
	}
	if got, want := c.keyFile, "/var/lib/fleetctl/gitlab-ci-docker.key"; got != want {
		t.Errorf("key file = %q, want %q", got, want)
	}
}

func TestNewGroupConfigProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*spec.Runner)
		want   []string
	}{
		{
			name:   "no autoscaler",
			mutate: func(r *spec.Runner) { r.Autoscaler = nil },
			want:   []string{`fleet.yaml: gitlab_runner.runners[0].autoscaler: runner "docker" has no autoscaler section`},
		},
		{
			name: "everything missing at once",
			mutate: func(r *spec.Runner) {
				r.Autoscaler.Instances = spec.Instances{VolumeSize: 5}
			},
			want: []string{
				"autoscaler.instances.name: is required",
				"autoscaler.instances.location: is required",
				"autoscaler.instances.server_type: is required",
				"autoscaler.instances.image: is required",
				"autoscaler.instances.volume_size: is 5",
			},
		},
		{
			name:   "upstream plugin",
			mutate: func(r *spec.Runner) { r.Autoscaler.Plugin = "hetznercloud/fleeting-plugin-hetzner:latest" },
			want:   []string{`autoscaler.plugin: is "hetznercloud/fleeting-plugin-hetzner:latest"`},
		},
		{
			name:   "ownership label",
			mutate: func(r *spec.Runner) { r.Autoscaler.Instances.Labels = map[string]string{spec.LabelFleet: "other"} },
			want:   []string{`autoscaler.instances.labels["fleetctl.io/fleet"]: fleetctl.io/fleet is an ownership label`},
		},
		{
			name:   "bad name",
			mutate: func(r *spec.Runner) { r.Autoscaler.Instances.Name = "CI_Docker" },
			want:   []string{`autoscaler.instances.name: "CI_Docker" must be lower-case`},
		},
		{
			name:   "runner name is no label value",
			mutate: func(r *spec.Runner) { r.Name = "docker runner" },
			want:   []string{`gitlab_runner.runners[0].name: "docker runner" is not a valid Hetzner label value`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := testFleet(tt.mutate)
			_, err := newGroupConfig(f, &f.GitLabRunner.Runners[0], "")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not mention %q", err, w)
				}
			}
		})
	}
}
