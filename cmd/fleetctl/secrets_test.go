package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	cliS3Access = "s3-cli-access-SECRET-3"
	cliS3Secret = "s3-cli-secret-SECRET-4"
)

// TestSharedCacheKeysNeverPrint is the reproducer: apply a fleet with the
// shared cache's S3 keys, then plan it without the cache. The live
// AccessKey and SecretKey, spelt as config.toml spells them, must show in
// no output: plan text, plan JSON, the saved plan, apply's stdout and
// stderr.
func TestSharedCacheKeysNeverPrint(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("S3_ACCESS_KEY", cliS3Access)
	t.Setenv("S3_SECRET_KEY", cliS3Secret)
	fleet, _, bin := simFleet(t)
	plain, err := os.ReadFile(fleet)
	if err != nil {
		t.Fatal(err)
	}
	withCache := strings.Replace(string(plain), "      docker: {image: \"alpine:latest\"}\n", `      docker: {image: "alpine:latest"}
      cache:
        type: s3
        shared: true
        s3:
          server_address: fsn1.your-objectstorage.com
          bucket_name: gitlab-ci-cache
          access_key: {env: S3_ACCESS_KEY}
          secret_key: {env: S3_SECRET_KEY}
`, 1)
	if withCache == string(plain) {
		t.Fatal("the test fleet has no docker line to add the cache after")
	}
	check := func(what string, texts ...string) {
		t.Helper()
		noKnownSecrets(t, what, texts...)
		for _, text := range texts {
			for _, s := range []string{cliS3Access, cliS3Secret} {
				if strings.Contains(text, s) {
					t.Errorf("%s holds the S3 key %q:\n%s", what, s, text)
				}
			}
		}
	}
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(fleet, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	write(withCache)
	r := runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin)
	check("apply with the cache", r.stdout, r.stderr)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	write(string(plain))
	planFile := filepath.Join(t.TempDir(), "plan.json")
	r = runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "--out", planFile)
	check("plan", r.stdout, r.stderr)
	if r.code != 0 || !containsFields(r.stdout, "- content.runners[0].cache.s3.SecretKey = (sensitive)") {
		t.Fatalf("plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	saved, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	check("saved plan", string(saved))

	r = runCLI(t, "plan", "-f", fleet, "--plugin-binary", bin, "-o", "json")
	check("plan -o json", r.stdout, r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, `"content.runners[0].cache.s3.AccessKey": "(sensitive)"`) {
		t.Fatalf("plan -o json: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, "apply", "-f", fleet, "--plugin-binary", bin, planFile)
	check("apply of the saved plan", r.stdout, r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, "file.config_toml written") {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// containsFields reports whether text contains want, however much white
// space the plan puts between words to align them.
func containsFields(text, want string) bool {
	return strings.Contains(strings.Join(strings.Fields(text), " "), strings.Join(strings.Fields(want), " "))
}
