// Command hcloudsim serves a local, in-memory Hetzner Cloud API. It prints
// the API base URL (what HCLOUD_ENDPOINT is set to) as the first line of
// stdout, logs to stderr, and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fleetctl/fleetctl/internal/buildinfo"
	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hcloudsim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hcloudsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	token := fs.String("token", "", "the only accepted bearer token (default: any non-empty token)")
	readOnly := fs.String("read-only-token", "", "a bearer token that may only read")
	sshHosts := fs.Bool("ssh", false, "run an SSH host for every running server on its own loopback address")
	sshPort := fs.Int("ssh-port", 22, "port of the servers' SSH hosts")
	stateDir := fs.String("state-dir", "", "directory of the servers' files (default: a temporary directory)")
	actionDuration := fs.Duration("action-duration", 0, "how long actions run (0: they finish when first polled)")
	latency := fs.Duration("latency", 0, "latency added to every request")
	rateLimit := fs.Int("rate-limit", 3600, "requests per hour (0 disables rate limiting)")
	quiet := fs.Bool("quiet", false, "do not log requests")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		info := buildinfo.Get()
		about := info.GoVersion + " " + info.Platform
		if info.Commit != "" {
			about = "commit " + info.Commit + ", built " + info.Date + ", " + about
		}
		_, err := fmt.Fprintf(stdout, "hcloudsim %s (%s)\n", info.Version, about)
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *rateLimit < 0 || *sshPort < 1 || *sshPort > 65535 || *actionDuration < 0 || *latency < 0 {
		return errors.New("--rate-limit, --action-duration and --latency must not be negative; --ssh-port must be 1-65535")
	}
	logger := log.New(stderr, "", log.LstdFlags|log.Lmicroseconds)
	logf := logger.Printf
	if *quiet {
		logf = func(string, ...any) {}
	}
	sim := hcloudsim.New(hcloudsim.Options{
		Token: *token, ReadOnlyToken: *readOnly,
		SSH: *sshHosts, SSHPort: *sshPort, StateDir: *stateDir,
		ActionDuration: *actionDuration, Latency: *latency, RateLimit: *rateLimit,
		Logf: logf,
	})
	defer sim.Close()

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "http://%s/v1\n", l.Addr()); err != nil {
		return err
	}
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	if *sshHosts {
		logger.Printf("servers' files under %s", sim.StateDir())
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
