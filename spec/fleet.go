package spec

import (
	"strings"
)

// Pos returns where the field at path (as in Problem.Path, e.g.
// gitlab_runner.runners[0].autoscaler.policy[0].idle_time) was written. For a
// field that was left out it returns the position of the nearest parent that
// was written, and the zero Pos when nothing is known (a Fleet built in code).
func (f *Fleet) Pos(path string) Pos {
	for {
		if p, ok := f.positions[path]; ok {
			return p
		}
		if path == "" {
			return Pos{}
		}
		path = parentPath(path)
	}
}

// written reports whether the field at path appears in the source file.
func (f *Fleet) written(path string) bool {
	_, ok := f.positions[path]
	return ok
}

// parentPath strips the last segment: a.b[0].c → a.b[0] → a.b → a → "".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		// Either an index [3] or a quoted map key ["a.b/c"].
		if i := strings.LastIndex(path, `["`); i >= 0 && strings.HasSuffix(path, `"]`) {
			return path[:i]
		}
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// Runner returns the runner with the given name.
func (f *Fleet) Runner(name string) (*Runner, bool) {
	for i := range f.GitLabRunner.Runners {
		if f.GitLabRunner.Runners[i].Name == name {
			return &f.GitLabRunner.Runners[i], true
		}
	}
	return nil, false
}

// OwnerLabels are the labels that mark a resource as owned by this fleet.
func (f *Fleet) OwnerLabels() map[string]string {
	return map[string]string{LabelFleet: f.Name}
}

// ManagerLabels are all labels the manager server carries: the user's, the
// ownership labels and its role.
func (f *Fleet) ManagerLabels() map[string]string {
	labels := f.OwnerLabels()
	for k, v := range f.Manager.Labels {
		labels[k] = v
	}
	labels[LabelRole] = "manager"
	return labels
}

// InstanceLabels are all labels an autoscaled instance of runner r carries.
// With the fleetctl plugin: instances.labels, the ownership labels, its role
// and its runner. The upstream plugin sets only instances.labels and its own
// managed-by=fleeting-plugin-hetzner and instance-group=<instances.name>.
func (f *Fleet) InstanceLabels(r *Runner) map[string]string {
	if r.Autoscaler != nil && !r.Autoscaler.UsesFleetctlPlugin() {
		labels := map[string]string{
			UpstreamManagedByLabel:     UpstreamManagedBy,
			UpstreamInstanceGroupLabel: r.Autoscaler.Instances.Name,
		}
		for k, v := range r.Autoscaler.Instances.Labels {
			labels[k] = v
		}
		return labels
	}
	labels := f.OwnerLabels()
	if r.Autoscaler != nil {
		for k, v := range r.Autoscaler.Instances.Labels {
			labels[k] = v
		}
	}
	labels[LabelRole] = "instance"
	labels[LabelRunner] = r.Name
	return labels
}

// The labels the upstream plugin puts on every instance it creates.
const (
	UpstreamManagedByLabel = "managed-by"
	UpstreamManagedBy      = "fleeting-plugin-hetzner"
	// UpstreamInstanceGroupLabel holds the instance group's name
	// (plugin_config name, that is instances.name).
	UpstreamInstanceGroupLabel = "instance-group"
)

// UsesFleetctlPlugin reports whether gitlab-runner runs fleetctl itself as
// the fleeting plugin (rather than the upstream Hetzner plugin).
func (a *Autoscaler) UsesFleetctlPlugin() bool {
	return a.Plugin == "" || a.Plugin == PluginFleetctl
}

// applyDefaults fills in what was left out. It never adds anything that
// would be written to config.toml unless the user wrote it: gitlab-runner's
// own defaults stay gitlab-runner's.
func (f *Fleet) applyDefaults() {
	if f.HCloud.Token == nil {
		f.HCloud.Token = &Secret{Env: "HCLOUD_TOKEN"}
	}
	if f.Manager.SSH.User == "" {
		f.Manager.SSH.User = DefaultSSHUser
	}
	if f.Manager.SSH.Port == 0 && !f.written("manager.ssh.port") {
		f.Manager.SSH.Port = DefaultSSHPort
	}
	if f.Manager.Protection == nil {
		on := true
		f.Manager.Protection = &on
	}
	if f.Manager.SpecPath == "" {
		f.Manager.SpecPath = DefaultSpecPath
	}
	for i := range f.GitLabRunner.Runners {
		r := &f.GitLabRunner.Runners[i]
		if r.Executor == "" {
			r.Executor = DefaultExecutor
		}
		if r.Autoscaler != nil && r.Autoscaler.Plugin == "" {
			r.Autoscaler.Plugin = PluginFleetctl
		}
	}
}
