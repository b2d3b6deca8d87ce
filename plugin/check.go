package plugin

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Check validates, offline, the settings the plugin would run with for the
// runner: the fleet.yaml, the runner's autoscaler.instances section and the
// derived labels. It writes a summary to w and returns every problem found.
// Names of locations, server types and images are checked against the API
// only when the plugin starts.
func Check(w io.Writer, specPath, runner, keyFile string) error {
	fleet, r, err := loadRunner(specPath, runner)
	if err != nil {
		return err
	}
	cfg, err := newGroupConfig(fleet, r, keyFile)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(cfg.labels))
	for k := range cfg.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	labels := make([]string, len(keys))
	for i, k := range keys {
		labels[i] = k + "=" + cfg.labels[k]
	}
	fmt.Fprintf(w, "runner %s of fleet %s: plugin settings are valid\n", cfg.runner, cfg.fleet)
	fmt.Fprintf(w, "  instances:    %s-<8 hex digits>\n", cfg.name)
	fmt.Fprintf(w, "  location:     %s\n", cfg.location)
	fmt.Fprintf(w, "  server types: %s\n", strings.Join(cfg.serverTypes, " → "))
	fmt.Fprintf(w, "  image:        %s\n", cfg.image)
	fmt.Fprintf(w, "  labels:       %s\n", strings.Join(labels, ", "))
	fmt.Fprintf(w, "  selector:     %s\n", cfg.selector())
	if cfg.volumeSize > 0 {
		fmt.Fprintf(w, "  volume:       %d GB per instance\n", cfg.volumeSize)
	}
	fmt.Fprintf(w, "  ssh key file: %s\n", cfg.keyFile)
	return nil
}
