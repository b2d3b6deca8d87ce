// Command fleetdemo is the demo's helper for what a fresh machine may lack:
//
//	fleetdemo keygen DIR     writes a new ed25519 key pair, DIR/id_ed25519 and DIR/id_ed25519.pub
//	fleetdemo stats URL      prints the simulator's API request count (URL: its API base URL)
//	fleetdemo project URL    lists what the project holds (servers, SSH keys, firewalls, primary IPs, volumes)
//	fleetdemo scale ...      drives fleetctl as gitlab-runner's fleeting plugin (see scale.go)
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/ssh"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fleetdemo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: fleetdemo keygen DIR | stats URL | project URL | scale [flags]")
	}
	switch args[0] {
	case "keygen":
		if len(args) != 2 {
			return errors.New("usage: fleetdemo keygen DIR")
		}
		return keygen(args[1])
	case "scale":
		return scale(ctx, args[1:])
	case "project":
		if len(args) != 2 {
			return errors.New("usage: fleetdemo project URL")
		}
		return project(ctx, args[1])
	case "stats":
		if len(args) != 2 {
			return errors.New("usage: fleetdemo stats URL")
		}
		return stats(ctx, args[1])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// keygen writes an unencrypted ed25519 key pair as ssh-keygen would.
func keygen(dir string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "fleetctl-demo")
	if err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " fleetctl-demo\n"
	if err := os.WriteFile(filepath.Join(dir, "id_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "id_ed25519.pub"), []byte(authorized), 0o644)
}

// stats prints the total of the simulator's request counter.
func stats(ctx context.Context, apiURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(apiURL, "/v1")+"/_sim/stats", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st struct {
		Total int `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return fmt.Errorf("simulator stats: %w", err)
	}
	fmt.Println(st.Total)
	return nil
}

// project prints what the simulated project holds, one line per kind.
func project(ctx context.Context, apiURL string) error {
	c := hcloud.NewClient(hcloud.WithEndpoint(apiURL), hcloud.WithToken(os.Getenv("HCLOUD_TOKEN")))
	servers, err := c.Server.All(ctx)
	if err != nil {
		return fmt.Errorf("list servers: %w", err)
	}
	keys, err := c.SSHKey.All(ctx)
	if err != nil {
		return fmt.Errorf("list ssh keys: %w", err)
	}
	firewalls, err := c.Firewall.All(ctx)
	if err != nil {
		return fmt.Errorf("list firewalls: %w", err)
	}
	ips, err := c.PrimaryIP.All(ctx)
	if err != nil {
		return fmt.Errorf("list primary ips: %w", err)
	}
	volumes, err := c.Volume.All(ctx)
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	var names []string
	for _, s := range servers {
		names = append(names, fmt.Sprintf("%s (%s)", s.Name, s.Status))
	}
	for _, k := range keys {
		names = append(names, "ssh key "+k.Name)
	}
	for _, f := range firewalls {
		names = append(names, "firewall "+f.Name)
	}
	fmt.Printf("servers %d, SSH keys %d, firewalls %d, primary IPs %d, volumes %d", len(servers), len(keys), len(firewalls), len(ips), len(volumes))
	if len(names) > 0 {
		fmt.Printf(": %s", strings.Join(names, ", "))
	}
	fmt.Println()
	return nil
}
