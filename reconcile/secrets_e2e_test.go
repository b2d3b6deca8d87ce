package reconcile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetctl/fleetctl/internal/hcloudsim"
	"github.com/fleetctl/fleetctl/reconcile"
)

// More known secret values: the S3 keys fleet.yaml references, and a
// token nobody told fleetctl about, placed in the manager's files by hand.
const (
	secretS3Access = "s3-access-SECRET-3141"
	secretS3Secret = "s3-secret-SECRET-2718"
	secretByHand   = "glpat-by-hand-SECRET-1618"
)

const cacheSection = `      cache:
        type: s3
        shared: true
        s3:
          server_address: fsn1.your-objectstorage.com
          bucket_name: gitlab-ci-cache
          access_key: {file: {{dir}}/s3-access-key}
          secret_key: {file: {{dir}}/s3-secret-key}
`

// allSecrets are every secret value of the environment: the ones
// fleet.yaml references and the manager's SSH private key.
func (e *env) allSecrets() []string {
	key, err := os.ReadFile(filepath.Join(e.dir, "id_ed25519"))
	if err != nil {
		e.t.Fatal(err)
	}
	return []string{secretHCloudToken, secretRunnerToken, secretS3Access, secretS3Secret, secretByHand,
		strings.TrimSpace(string(key)), "PRIVATE KEY"}
}

func (e *env) noSecretIn(what, text string) {
	e.t.Helper()
	for _, s := range e.allSecrets() {
		if strings.Contains(text, s) {
			e.t.Errorf("%s holds a secret (%q):\n%s", what, s, text)
		}
	}
}

// planOutputs are the plan as text, as JSON and as a saved plan file.
func (e *env) planOutputs(p *reconcile.Plan) (text, json, saved string) {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), "plan.json")
	if err := reconcile.WritePlanFile(path, p); err != nil {
		e.t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	text, json = planText(e.t, p), planJSON(e.t, p)
	e.noSecretIn("plan text", text)
	e.noSecretIn("plan JSON", json)
	e.noSecretIn("saved plan", string(b))
	return text, json, string(b)
}

// applyChecked applies and checks progress, results and the error.
func (e *env) applyChecked() {
	e.t.Helper()
	res, err := e.apply(false)
	var out strings.Builder
	for _, r := range res {
		out.WriteString(r.String() + "\n")
	}
	if err != nil {
		out.WriteString(err.Error())
	}
	e.noSecretIn("apply results", out.String())
	e.noSecretIn("apply progress", e.progress.String())
	if err != nil {
		e.t.Fatalf("apply: %v", err)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	requireSSHHosts(t)
	t.Parallel()
	e := newEnv(t, hcloudsim.Options{})
	e.write("s3-access-key", secretS3Access)
	e.write("s3-secret-key", secretS3Secret)
	e.writeFleet(map[string]string{"cache": strings.ReplaceAll(cacheSection, "{{dir}}", e.dir)})
	e.planOutputs(e.plan(false))
	e.applyChecked()
	if cfg := string(e.managerFile("etc/gitlab-runner/config.toml")); !strings.Contains(cfg, secretS3Secret) {
		t.Fatalf("config.toml lacks the S3 secret key:\n%s", cfg)
	}

	t.Run("the S3 keys of a cache that left fleet.yaml", func(t *testing.T) {
		e.t = t
		e.writeFleet(map[string]string{"cache": ""})
		text, _, _ := e.planOutputs(e.plan(false))
		for _, want := range []string{
			`- content.runners[0].cache.s3.AccessKey`, `- content.runners[0].cache.s3.SecretKey`,
			`- content.runners[0].cache.s3.ServerAddress = "fsn1.your-objectstorage.com"`,
		} {
			if !containsWords(text, want) {
				t.Errorf("plan lacks %q:\n%s", want, text)
			}
		}
		e.applyChecked()
		if cfg := string(e.managerFile("etc/gitlab-runner/config.toml")); strings.Contains(cfg, secretS3Secret) {
			t.Errorf("apply left the S3 key in config.toml:\n%s", cfg)
		}
	})

	t.Run("secrets placed by hand in the manager's files", func(t *testing.T) {
		e.t = t
		cfgPath := filepath.Join(e.stateDir, "servers", "runner-manager", "etc", "gitlab-runner", "config.toml")
		cfg := string(e.managerFile("etc/gitlab-runner/config.toml"))
		cfg = `listen_address = "` + secretHCloudToken + `"
check_interval = 7
sentry_dsn = "https://` + secretByHand + `@sentry.example.com/1"
` + strings.Replace(cfg, "[[runners]]\n", `[[runners]]
  environment = ["FOO=`+secretRunnerToken+`", "BAR=`+secretByHand+`"]
  clone_url = "https://oauth2:`+secretByHand+`@gitlab.com"
`, 1) + `  [runners.cache]
    Type = "s3"
    [runners.cache.s3]
      AccessKey = "` + secretByHand + `"
      SecretKey = "` + secretS3Secret + `"
`
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		yamlPath := filepath.Join(e.stateDir, "servers", "runner-manager", "etc", "fleetctl", "fleet.yaml")
		copyOf, err := os.ReadFile(yamlPath)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(copyOf), "hcloud:\n", "hcloud:\n  api_key: "+secretByHand+"\n  TOKEN_VALUE: "+secretHCloudToken+"\n", 1)
		if edited == string(copyOf) {
			t.Fatalf("the fleet.yaml copy has no hcloud section:\n%s", copyOf)
		}
		if err := os.WriteFile(yamlPath, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}

		text, _, _ := e.planOutputs(e.plan(false))
		for _, want := range []string{
			`- content.check_interval = 7`, // harmless: shown
			`- content.listen_address = (sensitive)`,
			`- content.sentry_dsn = (sensitive)`,
			`"FOO=(sensitive)"`, `"BAR=(sensitive)"`,
			`- content.runners[0].clone_url = (sensitive)`,
			`- content.runners[0].cache.s3.AccessKey = (sensitive)`,
			`- content.hcloud.api_key = (sensitive)`,
		} {
			if !containsWords(text, want) {
				t.Errorf("plan lacks %q:\n%s", want, text)
			}
		}
		e.applyChecked()
		if p := e.plan(false); p.HasChanges() {
			t.Errorf("apply did not remove what was placed by hand:\n%s", planText(t, p))
		}
	})
}
