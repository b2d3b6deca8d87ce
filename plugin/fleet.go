package plugin

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/fleetctl/fleetctl/spec"
)

// loadRunner loads the fleet.yaml and finds the named runner in it.
func loadRunner(path, runner string) (*spec.Fleet, *spec.Runner, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("fleet spec: %w", err)
	}
	var f spec.Fleet
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Source = path
	return findRunner(&f, runner)
}

func findRunner(f *spec.Fleet, name string) (*spec.Fleet, *spec.Runner, error) {
	var names []string
	for i := range f.GitLabRunner.Runners {
		r := &f.GitLabRunner.Runners[i]
		if r.Name == name {
			return f, r, nil
		}
		names = append(names, r.Name)
	}
	sort.Strings(names)
	if name == "" {
		return nil, nil, fmt.Errorf("%s: plugin_config has no runner; name one of: %s", f.Source, strings.Join(names, ", "))
	}
	return nil, nil, fmt.Errorf("%s: no runner named %q under gitlab_runner.runners (have: %s)", f.Source, name, strings.Join(names, ", "))
}
