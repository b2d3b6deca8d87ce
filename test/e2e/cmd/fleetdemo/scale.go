package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// scale runs the plugin as gitlab-runner does — the bare executable,
// through fleeting's provisioner — and scales the instance group to each
// of --steps in turn, printing the instances whenever they change.
func scale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fleetdemo scale", flag.ContinueOnError)
	plugin := fs.String("plugin", "", "the plugin executable (fleetctl)")
	spec := fs.String("spec", "", "plugin_config.spec: the fleet.yaml the plugin reads")
	runner := fs.String("runner", "", "plugin_config.runner: the runner's name in it")
	keyFile := fs.String("key-file", "", "plugin_config.key_file: where the plugin keeps the instances' SSH key")
	steps := fs.String("steps", "3,0", "instance counts to scale to, in order")
	timeout := fs.Duration("timeout", time.Minute, "how long each step may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *plugin == "" || *spec == "" || *runner == "" {
		return errors.New("scale needs --plugin, --spec and --runner")
	}
	var targets []int
	for _, s := range strings.Split(*steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return fmt.Errorf("--steps: %q is not a count", s)
		}
		targets = append(targets, n)
	}
	settings := map[string]string{"spec": *spec, "runner": *runner}
	if *keyFile != "" {
		settings["key_file"] = *keyFile
	}
	config, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "fleeting", Level: hclog.Warn, Output: os.Stderr})
	run, err := fleeting.RunPlugin(*plugin, config, fleeting.WithPluginLogger(logger))
	if err != nil {
		return fmt.Errorf("start plugin %s: %w", *plugin, err)
	}
	defer run.Kill()
	p, err := fleeting.Init(ctx, logger, run.InstanceGroup(),
		fleeting.WithInstanceGroupSettings(provider.Settings{ConnectorConfig: provider.ConnectorConfig{Protocol: provider.ProtocolSSH}}),
		fleeting.WithUpdateInterval(time.Second),
		fleeting.WithUpdateIntervalWhenExpecting(250*time.Millisecond),
		fleeting.WithDeletionRetryInterval(time.Second))
	if err != nil {
		return fmt.Errorf("plugin init: %w", err)
	}
	defer p.Shutdown(context.Background())

	w := &instanceWatcher{out: os.Stdout, start: time.Now()}
	for _, n := range targets {
		fmt.Fprintf(os.Stdout, "-- scale to %d\n", n)
		have := w.running(p)
		if n > have {
			p.Request(n - have)
		}
		if n < have {
			for _, inst := range p.Instances()[:have-n] {
				inst.Delete()
			}
		}
		deadline := time.After(*timeout)
		for w.print(p); !w.settled(p, n); w.print(p) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-deadline:
				return fmt.Errorf("not %d running instances after %s", n, *timeout)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// instanceWatcher prints the instances each time their set or states change.
type instanceWatcher struct {
	out   io.Writer
	start time.Time
	last  string
}

func (w *instanceWatcher) print(p *fleeting.Provisioner) {
	var rows []string
	for _, inst := range p.Instances() {
		rows = append(rows, fmt.Sprintf("%s %s", inst.ID(), inst.State()))
	}
	slices.Sort(rows)
	now := strings.Join(rows, ", ")
	if now == "" {
		now = "(none)"
	}
	if now == w.last {
		return
	}
	w.last = now
	fmt.Fprintf(w.out, "%6.1fs  instances: %s\n", time.Since(w.start).Seconds(), now)
}

func (w *instanceWatcher) running(p *fleeting.Provisioner) int {
	n := 0
	for _, inst := range p.Instances() {
		if inst.State() == provider.StateRunning {
			n++
		}
	}
	return n
}

// settled reports whether exactly n instances exist and all run.
func (w *instanceWatcher) settled(p *fleeting.Provisioner, n int) bool {
	insts := p.Instances()
	return len(insts) == n && w.running(p) == n && p.Capacity().Requested == 0
}
