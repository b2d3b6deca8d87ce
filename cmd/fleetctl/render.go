package main

import (
	"github.com/spf13/cobra"

	"github.com/fleetctl/fleetctl/render"
)

// renderOptions are render's inputs.
type renderOptions struct {
	io          streams
	File        string
	ShowSecrets bool
	CloudInit   bool
}

func newCmdRender(s streams, runF func(*renderOptions) error) *cobra.Command {
	opts := &renderOptions{io: s}
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the config.toml that apply would push to the manager",
		Long: `Print, on stdout, exactly the /etc/gitlab-runner/config.toml that apply would
push to the runner-manager. Secrets are masked unless --show-secrets is given;
then they are read from the environment variables and files fleet.yaml names.

With --cloud-init, print the runner-manager's cloud-init user data instead. Its
SSH host key is generated when the server is created, so it is always masked.`,
		Example: `  fleetctl render -f fleet.yaml
  RUNNER_TOKEN=glrt-… HCLOUD_TOKEN=… fleetctl render -f fleet.yaml --show-secrets > config.toml
  fleetctl render -f fleet.yaml --cloud-init`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return renderRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", defaultFleetFile, "the fleet.yaml to read")
	cmd.Flags().BoolVar(&opts.ShowSecrets, "show-secrets", false, "resolve secrets and print their values")
	cmd.Flags().BoolVar(&opts.CloudInit, "cloud-init", false, "print the runner-manager's cloud-init user data instead")
	return cmd
}

func renderRun(opts *renderOptions) error {
	f, _, err := loadFleet(opts.File, opts.io.ErrOut)
	if err != nil {
		return err
	}
	var out []byte
	if opts.CloudInit {
		out, err = render.ManagerCloudInit(f, render.MaskedHostKey)
	} else {
		secret := render.MaskSecrets
		if opts.ShowSecrets {
			secret = resolveSecret
		}
		out, err = render.RunnerConfig(f, secret)
	}
	if err != nil {
		return fieldProblem(f, err)
	}
	_, err = opts.io.Out.Write(out)
	return err
}
