// Command fleetctl turns a GitLab CI autoscaling fleet on Hetzner Cloud into
// one git-committed file, fleet.yaml, and converges Hetzner and the
// runner-manager to it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/fleetctl/fleetctl/plugin"
)

func main() {
	// gitlab-runner starts its fleeting plugin bare, with the handshake
	// cookie in the environment: serve before any flag parsing or output.
	if plugin.Requested() {
		plugin.Serve()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
