package spec

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPos(t *testing.T) {
	t.Parallel()
	f, err := Load("../examples/tutorial/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want Pos
	}{
		{"version", Pos{10, 10}},
		{"name", Pos{11, 7}},
		{"ssh_keys[0].public_key_file", Pos{17, 22}},
		{"firewalls[0].rules[1].port", Pos{30, 15}},
		{"firewalls[0].rules[1].source_ips[1]", Pos{28, 33}},
		{"manager.labels.runner", Pos{41, 13}},
		{"gitlab_runner.runners[0].autoscaler.policy[0].idle_time", Pos{68, 24}},
		{"gitlab_runner.runners[0].autoscaler.policy[0]", Pos{65, 13}},
		{"gitlab_runner.runners[0].autoscaler", Pos{56, 7}},
		// Left out: the nearest written parent.
		{"gitlab_runner.runners[0].autoscaler.policy[0].scale_factor", Pos{65, 13}},
		{"manager.spec_path", Pos{34, 1}},
		{"gitlab_runner.check_interval", Pos{45, 1}},
		{"nothing.here", Pos{10, 1}},
	} {
		if got := f.Pos(tc.path); got != tc.want {
			t.Errorf("Pos(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if got := (&Fleet{}).Pos("manager.name"); got != (Pos{}) {
		t.Errorf("Pos on a Fleet built in code = %v, want zero", got)
	}
}

// TestDefaults checks what Parse fills in, and that it adds nothing that
// would appear in config.toml without being written.
func TestDefaults(t *testing.T) {
	t.Parallel()
	f, err := Load("testdata/valid-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	on := true
	if d := cmp.Diff(&Secret{Env: "HCLOUD_TOKEN"}, f.HCloud.Token); d != "" {
		t.Errorf("hcloud.token (-want +got):\n%s", d)
	}
	wantManager := Manager{
		Name: "runner-manager", ServerType: "cpx11", Image: "debian-12", Location: "hel1",
		Protection: &on, SSH: ManagerSSH{User: "root", Port: 22}, SpecPath: "/etc/fleetctl/fleet.yaml",
	}
	if d := cmp.Diff(wantManager, f.Manager); d != "" {
		t.Errorf("manager (-want +got):\n%s", d)
	}
	wantRunner := GitLabRunner{
		Concurrent: 4,
		Runners: []Runner{{
			Name: "autoscaler", URL: "https://gitlab.example.com", Token: Secret{Env: "RUNNER_TOKEN"},
			Executor: "docker-autoscaler",
			Autoscaler: &Autoscaler{
				Plugin: "fleetctl", CapacityPerInstance: 1, MaxInstances: 4,
				ConnectorConfig: &ConnectorConfig{UseExternalAddr: true},
				Instances:       Instances{Name: "ci-runner", Location: "hel1", ServerType: StringList{"cpx21"}, Image: "debian-12"},
			},
		}},
	}
	if d := cmp.Diff(wantRunner, f.GitLabRunner); d != "" {
		t.Errorf("gitlab_runner: only the executor and plugin may be defaulted (-want +got):\n%s", d)
	}
	if f.Source != "testdata/valid-minimal.yaml" {
		t.Errorf("Source = %q", f.Source)
	}
}

func TestWrittenValuesKept(t *testing.T) {
	t.Parallel()
	f, err := Load("testdata/valid-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if *f.Manager.Protection {
		t.Error("protection: false was overridden by the default")
	}
	if f.Manager.SSH.Port != 2222 {
		t.Errorf("ssh.port = %d", f.Manager.SSH.Port)
	}
	docker, ok := f.Runner("docker")
	if !ok {
		t.Fatal(`Runner("docker") not found`)
	}
	if d := cmp.Diff(StringList{"cpx31", "cx32", "cax31"}, docker.Autoscaler.Instances.ServerType); d != "" {
		t.Errorf("server_type list (-want +got):\n%s", d)
	}
	arm, ok := f.Runner("arm")
	if !ok || arm.Autoscaler.UsesFleetctlPlugin() || arm.Autoscaler.Plugin != "hetznercloud/fleeting-plugin-hetzner:v1.0.0" {
		t.Errorf("arm runner plugin = %+v", arm)
	}
	if _, ok := f.Runner("nope"); ok {
		t.Error(`Runner("nope") found something`)
	}
	if d := cmp.Diff(map[string]string{LabelFleet: "gitlab-ci"}, f.OwnerLabels()); d != "" {
		t.Errorf("OwnerLabels (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{LabelFleet: "gitlab-ci", LabelRole: "instance", LabelRunner: "docker", "runner": "", "docker": ""}, f.InstanceLabels(docker)); d != "" {
		t.Errorf("InstanceLabels (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{LabelFleet: "gitlab-ci", LabelRole: "manager", "runner": "", "example.com/owner": "platform-team"}, f.ManagerLabels()); d != "" {
		t.Errorf("ManagerLabels (-want +got):\n%s", d)
	}
}

func TestUsesFleetctlPlugin(t *testing.T) {
	t.Parallel()
	for plugin, want := range map[string]bool{
		"": true, "fleetctl": true,
		"hetznercloud/fleeting-plugin-hetzner:latest": false,
		"hetznercloud/fleeting-plugin-hetzner":        false,
	} {
		if got := (&Autoscaler{Plugin: plugin}).UsesFleetctlPlugin(); got != want {
			t.Errorf("UsesFleetctlPlugin(%q) = %v", plugin, got)
		}
	}
}

// TestValidateInCode checks Validate on a Fleet built in Go, without
// positions: every problem at once, sorted, no position.
func TestValidateInCode(t *testing.T) {
	t.Parallel()
	f := &Fleet{Version: 1, Name: "ci", Manager: Manager{Name: "m", ServerType: "cpx11", Image: "debian-12", Location: "hel1", SSHKeys: []string{"dev"}}}
	err := f.Validate()
	var problems Problems
	if !errors.As(err, &problems) {
		t.Fatalf("Validate() = %v, want Problems", err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Path+": "+p.Message)
	}
	want := []string{
		"gitlab_runner: required: declare gitlab_runner with concurrent and runners (it becomes config.toml)",
		`manager.ssh.port: must be a TCP port from 1 to 65535, not 0 (default 22)`,
		`manager.ssh_keys[0]: ssh key "dev" is not declared: add it under ssh_keys (name: dev, public_key_file: ~/.ssh/id_ed25519.pub)`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Fleet)
		want []string
	}{
		{name: "tutorial", edit: func(*Fleet) {}, want: []string{
			"../examples/tutorial/fleet.yaml:46:15: warning: gitlab_runner.concurrent: concurrent 10 is below what the autoscaled instances can run (capacity_per_instance × max_instances = 20): gitlab-runner will never use all of them; raise concurrent or lower max_instances",
		}},
		{name: "concurrent matches capacity", edit: func(f *Fleet) { f.GitLabRunner.Concurrent = 20 }},
		{name: "unbounded max_instances", edit: func(f *Fleet) { f.GitLabRunner.Runners[0].Autoscaler.MaxInstances = 0 }},
		{name: "selector matches instances only", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.Manager.Labels = nil
			f.GitLabRunner.Runners[0].Autoscaler.Instances.Labels = map[string]string{"runner": ""}
		}},
		{name: "selector matches by runner label", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.Firewalls[0].ApplyTo[0].LabelSelector = "fleetctl.io/runner=hetzner-docker-autoscaler"
		}},
		{name: "selector matches nothing", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.Manager.Labels = map[string]string{"runner-manager": ""}
		}, want: []string{
			`../examples/tutorial/fleet.yaml:32:25: warning: firewalls[0].apply_to[0].label_selector: selector "runner" matches neither the manager nor the autoscaled instances of this fleet: firewall "runner" protects none of its servers; add the label under manager.labels or instances.labels, or fix the selector`,
		}},
		{name: "selector for another fleet", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.Firewalls[0].ApplyTo[0].LabelSelector = "runner,fleetctl.io/fleet=other"
		}, want: []string{
			`../examples/tutorial/fleet.yaml:32:25: warning: firewalls[0].apply_to[0].label_selector: selector "runner,fleetctl.io/fleet=other" matches neither the manager nor the autoscaled instances of this fleet: firewall "runner" protects none of its servers; add the label under manager.labels or instances.labels, or fix the selector`,
		}},
		{name: "ssh port blocked on the manager", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.Manager.SSH.Port = 2222
		}, want: []string{
			`../examples/tutorial/fleet.yaml:42:3: warning: manager.ssh.port: the firewalls applied to the manager allow no inbound tcp port 2222: fleetctl apply could not reach it over SSH; add a rule {direction: in, protocol: tcp, port: "2222", source_ips: [...]}`,
		}},
		{name: "port range and any allow ssh", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.Manager.SSH.Port = 2222
			f.Firewalls[0].Rules[1].Port = "2000-3000"
			f.Firewalls = append(f.Firewalls, Firewall{Name: "all", Rules: []FirewallRule{{Direction: "in", Protocol: "tcp", Port: "any", SourceIPs: []string{"10.0.0.0/8"}}},
				ApplyTo: []FirewallApplyTo{{LabelSelector: "fleetctl.io/role=instance"}}})
			f.GitLabRunner.Runners[0].Autoscaler.ConnectorConfig.ProtocolPort = 2022
		}},
		{name: "ssh port blocked on instances", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.Firewalls = append(f.Firewalls, Firewall{Name: "icmp-only", Rules: []FirewallRule{{Direction: "in", Protocol: "icmp", SourceIPs: []string{"0.0.0.0/0"}}},
				ApplyTo: []FirewallApplyTo{{LabelSelector: "fleetctl.io/runner=hetzner-docker-autoscaler"}}})
		}, want: []string{
			`../examples/tutorial/fleet.yaml:69:9: warning: gitlab_runner.runners[0].autoscaler.instances: the firewalls applied to runner "hetzner-docker-autoscaler"'s instances allow no inbound tcp port 22: gitlab-runner could not connect to them; add a rule for it`,
		}},
		{name: "no apply_to", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.Firewalls[0].ApplyTo = nil
		}, want: []string{
			`../examples/tutorial/fleet.yaml:20:5: warning: firewalls[0]: firewall "runner" has no apply_to: it protects no server; add apply_to: [{label_selector: ...}]`,
		}},
		{name: "no way to reach instances", edit: func(f *Fleet) {
			f.GitLabRunner.Concurrent = 20
			f.GitLabRunner.Runners[0].Autoscaler.ConnectorConfig.UseExternalAddr = false
		}, want: []string{
			`../examples/tutorial/fleet.yaml:62:9: warning: gitlab_runner.runners[0].autoscaler.connector_config: instances of runner "hetzner-docker-autoscaler" have no private network, so they have no internal address for gitlab-runner to connect to: set connector_config.use_external_addr: true, or attach a private network the manager shares`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Load("../examples/tutorial/fleet.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(f)
			var got []string
			for _, w := range f.Lint() {
				if !w.Warning {
					t.Errorf("Lint returned a non-warning: %v", w)
				}
				got = append(got, w.Error())
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Lint (-want +got):\n%s", d)
			}
		})
	}
}
