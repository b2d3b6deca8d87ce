package plugin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fleetctl/fleetctl/spec"
)

// loadRunner loads and validates the fleet.yaml and finds the named runner
// in it.
func loadRunner(path, runner string) (*spec.Fleet, *spec.Runner, error) {
	f, err := spec.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if r, ok := f.Runner(runner); ok {
		return f, r, nil
	}
	var names []string
	for _, r := range f.GitLabRunner.Runners {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	if runner == "" {
		return nil, nil, fmt.Errorf("runner is required: name one of the runners in %s: %s", path, strings.Join(names, ", "))
	}
	return nil, nil, fmt.Errorf("%s: no runner named %q under gitlab_runner.runners (have: %s)", path, runner, strings.Join(names, ", "))
}
