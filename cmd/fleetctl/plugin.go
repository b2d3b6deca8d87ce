package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/plugin"
)

const pluginHelp = `fleetctl is also gitlab-runner's fleeting plugin for Hetzner Cloud.

gitlab-runner starts the plugin itself: it runs the configured executable with
no arguments and %s=<cookie> in the environment, and fleetctl
then serves the fleeting instance-group protocol on stdin/stdout instead of
acting as a CLI. Running "fleetctl plugin" by hand does not start it.

In /etc/gitlab-runner/config.toml (fleetctl apply renders this from fleet.yaml):

  [runners.autoscaler]
    plugin = "/usr/local/bin/fleetctl"
    [runners.autoscaler.plugin_config]
      spec   = "/etc/fleetctl/fleet.yaml"   # default
      runner = "hetzner-docker-autoscaler"  # gitlab_runner.runners[].name

The instances' settings come from that runner's autoscaler.instances section
of the fleet.yaml. The API token comes from plugin_config token, the
fleet.yaml's hcloud.token, HCLOUD_TOKEN or HCLOUD_TOKEN_FILE, in that order;
the endpoint from plugin_config endpoint, hcloud.endpoint or HCLOUD_ENDPOINT.

Check the settings offline with:

  fleetctl plugin --check -f fleet.yaml --runner NAME
`

type pluginOptions struct {
	check   bool
	file    string
	runner  string
	keyFile string
}

func newPluginCmd(s streams) *cobra.Command {
	var o pluginOptions
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "gitlab-runner's fleeting plugin (started by gitlab-runner); --check validates its settings",
		Long:  fmt.Sprintf(pluginHelp, plugin.HandshakeKey),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !o.check {
				fmt.Fprintf(s.Out, pluginHelp, plugin.HandshakeKey)
				return nil
			}
			if o.runner == "" {
				return &codeError{code: exitError, err: fmt.Errorf("plugin --check: --runner is required")}
			}
			if err := plugin.Check(s.Out, o.file, o.runner, o.keyFile); err != nil {
				return &codeError{code: exitError, err: err}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.check, "check", false, "validate the plugin settings for --runner offline and exit")
	cmd.Flags().StringVarP(&o.file, "file", "f", plugin.DefaultSpecPath, "the fleet.yaml")
	cmd.Flags().StringVar(&o.runner, "runner", "", "the runner's name (gitlab_runner.runners[].name)")
	cmd.Flags().StringVar(&o.keyFile, "key-file", "", "plugin_config key_file, if set")
	return cmd
}
