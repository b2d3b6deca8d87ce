package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleetctl/fleetctl/internal/buildinfo"
	"github.com/fleetctl/fleetctl/render"
	"github.com/fleetctl/fleetctl/spec"
)

// Known secret values: each test sets them in the environment and then
// checks they appear exactly where they should.
const (
	testRunnerToken = "glrt-cli-test-runner-token-5d1f"
	testHCloudToken = "hcloud-cli-test-token-9b7e"
)

var (
	tutorialExample = filepath.Join("..", "..", "examples", "tutorial", "fleet.yaml")
	upstreamExample = filepath.Join("..", "..", "examples", "tutorial", "fleet.upstream-plugin.yaml")
)

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs fleetctl in-process, as main does.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func setTokens(t *testing.T) {
	t.Setenv("RUNNER_TOKEN", testRunnerToken)
	t.Setenv("HCLOUD_TOKEN", testHCloudToken)
}

func unsetEnv(t *testing.T, name string) {
	t.Setenv(name, "") // restores the old value after the test
	os.Unsetenv(name)
}

// noSecrets fails when a known secret value shows in stdout or stderr.
func noSecrets(t *testing.T, r result) {
	t.Helper()
	for _, v := range []string{testRunnerToken, testHCloudToken} {
		if strings.Contains(r.stdout, v) || strings.Contains(r.stderr, v) {
			t.Errorf("a secret value reached the output:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
	}
}

func loadForTest(t *testing.T, path string) *spec.Fleet {
	t.Helper()
	f, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func knownSecret(s spec.Secret) (string, error) {
	switch s.Env {
	case "RUNNER_TOKEN":
		return testRunnerToken, nil
	case "HCLOUD_TOKEN":
		return testHCloudToken, nil
	}
	return "", fmt.Errorf("unexpected secret %s", s)
}

// warnings are the lines every command reading the file prints on stderr
// for its lint warnings (the tutorial's concurrent 10 is below 4 × 5).
func warnings(t *testing.T, path string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range loadForTest(t, path).Lint() {
		b.WriteString(p.Error() + "\n")
	}
	if b.Len() == 0 {
		t.Fatalf("%s has no warnings; the tests expect the tutorial's", path)
	}
	return b.String()
}

// posOf is the 1-based "line:col" where value starts in the line of text
// that holds key+value.
func posOf(t *testing.T, text, key, value string) string {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		if j := strings.Index(line, key+value); j >= 0 {
			return fmt.Sprintf("%d:%d", i+1, j+len(key)+1)
		}
	}
	t.Fatalf("%q not found", key+value)
	return ""
}

func TestValidate(t *testing.T) {
	setTokens(t)
	t.Setenv("HOME", homeWithKey(t)) // the examples' public_key_file
	tests := []struct {
		name string
		args []string
		want result
	}{
		{
			name: "example with a warning",
			args: []string{"validate", "-f", tutorialExample},
			want: result{
				code:   exitOK,
				stdout: tutorialExample + ": fleet \"gitlab-ci\" is valid (1 runner, 1 warning)\n",
				stderr: warnings(t, tutorialExample),
			},
		},
		{
			name: "upstream example",
			args: []string{"validate", "--file", upstreamExample},
			want: result{
				code:   exitOK,
				stdout: upstreamExample + ": fleet \"gitlab-ci\" is valid (1 runner, 1 warning)\n",
				stderr: warnings(t, upstreamExample),
			},
		},
		{
			name: "missing file",
			args: []string{"validate", "-f", "no-such-fleet.yaml"},
			want: result{code: exitError, stderr: "Error: read no-such-fleet.yaml: no such file or directory\n"},
		},
		{
			name: "stray argument",
			args: []string{"validate", "fleet.yaml"},
			want: result{code: exitError, stderr: "Error: unknown command \"fleet.yaml\" for \"fleetctl validate\"\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, tt.args...)
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(result{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			noSecrets(t, got)
		})
	}
}

// A broken fleet.yaml: every problem on stderr with file:line:col and the
// field path, nothing on stdout, exit 1.
func TestValidateBrokenFile(t *testing.T) {
	setTokens(t)
	example, err := os.ReadFile(tutorialExample)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(example), "idle_time: 1h", "idle_time: 3600", 1)
	broken = strings.Replace(broken, "max_instances: 5", "max_instance: 5", 1)
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"validate", "render"} {
		t.Run(cmd, func(t *testing.T) {
			got := runCLI(t, cmd, "-f", path)
			if got.code != exitError {
				t.Errorf("exit code %d, want %d", got.code, exitError)
			}
			if got.stdout != "" {
				t.Errorf("stdout is not empty:\n%s", got.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(got.stderr, "\n"), "\n")
			wantPrefixes := []string{
				path + ":" + posOf(t, broken, "", "max_instance: 5") + ": gitlab_runner.runners[0].autoscaler.max_instance: unknown field \"max_instance\"",
				path + ":" + posOf(t, broken, "idle_time: ", "3600") + ": gitlab_runner.runners[0].autoscaler.policy[0].idle_time: must be a Go duration string",
			}
			var missing []string
			for _, want := range wantPrefixes {
				found := false
				for _, line := range lines {
					found = found || strings.HasPrefix(line, want)
				}
				if !found {
					missing = append(missing, want)
				}
			}
			if len(missing) > 0 {
				t.Errorf("stderr lacks lines starting with\n%s\nstderr:\n%s", strings.Join(missing, "\n"), got.stderr)
			}
			if strings.Contains(got.stderr, "Error:") {
				t.Errorf("problems are printed as file:line:col lines, not as an Error:\n%s", got.stderr)
			}
			noSecrets(t, got)
		})
	}
}

// render prints exactly the file apply pushes: the masked one by default,
// the real one with --show-secrets.
func TestRender(t *testing.T) {
	setTokens(t)
	for _, path := range []string{tutorialExample, upstreamExample} {
		f := loadForTest(t, path)
		masked, err := render.RunnerConfig(f, render.MaskSecrets)
		if err != nil {
			t.Fatal(err)
		}
		shown, err := render.RunnerConfig(f, knownSecret)
		if err != nil {
			t.Fatal(err)
		}
		cloudInit, err := render.ManagerCloudInit(f, render.MaskedHostKey)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name       string
			args       []string
			stdout     string
			mayShowKey bool
		}{
			{"masked", []string{"render", "-f", path}, string(masked), false},
			{"show secrets", []string{"render", "-f", path, "--show-secrets"}, string(shown), true},
			{"cloud-init", []string{"render", "-f", path, "--cloud-init"}, string(cloudInit), false},
			{"cloud-init with secrets", []string{"render", "-f", path, "--cloud-init", "--show-secrets"}, string(cloudInit), false},
		}
		for _, tt := range tests {
			t.Run(filepath.Base(path)+"/"+tt.name, func(t *testing.T) {
				got := runCLI(t, tt.args...)
				want := result{code: exitOK, stdout: tt.stdout, stderr: warnings(t, path)}
				if d := cmp.Diff(want, got, cmp.AllowUnexported(result{})); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
				if tt.mayShowKey {
					if !strings.Contains(got.stdout, testRunnerToken) || !strings.Contains(got.stdout, testHCloudToken) {
						t.Errorf("--show-secrets does not print the tokens:\n%s", got.stdout)
					}
					return
				}
				noSecrets(t, got)
			})
		}
	}
}

// A secret that does not resolve: an error at the field's position naming the
// variable, no value anywhere, nothing on stdout. Masked rendering needs no
// secret at all.
func TestRenderMissingSecret(t *testing.T) {
	setTokens(t)
	unsetEnv(t, "RUNNER_TOKEN")

	example, err := os.ReadFile(tutorialExample)
	if err != nil {
		t.Fatal(err)
	}
	got := runCLI(t, "render", "-f", tutorialExample, "--show-secrets")
	want := result{
		code: exitError,
		stderr: warnings(t, tutorialExample) + tutorialExample + ":" + posOf(t, string(example), "token: ", "{env: RUNNER_TOKEN}") +
			": gitlab_runner.runners[0].token: environment variable RUNNER_TOKEN is not set\n",
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(result{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	noSecrets(t, got)

	unsetEnv(t, "HCLOUD_TOKEN")
	if got := runCLI(t, "render", "-f", tutorialExample); got.code != exitOK || got.stdout == "" {
		t.Errorf("masked render needs secrets: exit %d\n%s", got.code, got.stderr)
	}
}

func TestRenderSecretFromFile(t *testing.T) {
	setTokens(t)
	example, err := os.ReadFile(upstreamExample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "runner-token")
	if err := os.WriteFile(tokenFile, []byte(testRunnerToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fleet := strings.Replace(string(example), "token: {env: RUNNER_TOKEN}", "token: {file: "+tokenFile+"}", 1)
	path := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(path, []byte(fleet), 0o600); err != nil {
		t.Fatal(err)
	}
	unsetEnv(t, "RUNNER_TOKEN")

	got := runCLI(t, "render", "-f", path)
	if got.code != exitOK || !strings.Contains(got.stdout, `token = "<masked: file `+tokenFile+`>"`) {
		t.Errorf("masked render: exit %d\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	noSecrets(t, got)
	got = runCLI(t, "render", "-f", path, "--show-secrets")
	if got.code != exitOK || !strings.Contains(got.stdout, `token = "`+testRunnerToken+`"`) {
		t.Errorf("--show-secrets: exit %d\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}

	if err := os.Remove(tokenFile); err != nil {
		t.Fatal(err)
	}
	got = runCLI(t, "render", "-f", path, "--show-secrets")
	if got.code != exitError || got.stdout != "" || !strings.Contains(got.stderr, "gitlab_runner.runners[0].token: secret file "+tokenFile) {
		t.Errorf("missing token file: exit %d\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	noSecrets(t, got)
}

func TestVersion(t *testing.T) {
	info := buildinfo.Get()
	got := runCLI(t, "version")
	if got.code != exitOK || !strings.HasPrefix(got.stdout, "fleetctl "+info.Version+"\n") || got.stderr != "" ||
		!strings.Contains(got.stdout, "go:      "+info.GoVersion+" "+info.Platform+"\n") {
		t.Errorf("version: %+v", got)
	}
	got = runCLI(t, "version", "-o", "json")
	var parsed buildinfo.Info
	if err := json.Unmarshal([]byte(got.stdout), &parsed); err != nil || got.code != exitOK || got.stderr != "" {
		t.Fatalf("version -o json: %v: %+v", err, got)
	}
	if d := cmp.Diff(info, parsed); d != "" {
		t.Errorf("version -o json (-want +got):\n%s", d)
	}
	if got := runCLI(t, "version", "-o", "yaml"); got.code != exitError || !strings.Contains(got.stderr, `--output "yaml"`) {
		t.Errorf("version -o yaml: %+v", got)
	}
}

// Commands of later work are not stubbed in: an unknown command fails.
func TestUnknownCommand(t *testing.T) {
	got := runCLI(t, "no-such-command")
	want := result{code: exitError, stderr: "Error: unknown command \"no-such-command\" for \"fleetctl\"\n"}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(result{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestSchema(t *testing.T) {
	got := runCLI(t, "schema")
	want := result{code: exitOK, stdout: string(spec.Schema())}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(result{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(got.stdout), &doc); err != nil {
		t.Errorf("schema is not JSON: %v", err)
	}
	if doc["$schema"] == nil || doc["properties"] == nil {
		t.Errorf("schema lacks $schema or properties: %.200s", got.stdout)
	}
}
