package importgraph

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/fleetctl/fleetctl/internal/testenv"
)

const module = "github.com/fleetctl/fleetctl"

// testOnly are the packages production code must not depend on, and
// mayUse the non-test packages that may: the simulator's command, the
// test-only packages themselves, and the end-to-end tests' helpers.
var (
	testOnly = []string{module + "/internal/hcloudsim", module + "/internal/sshhost", module + "/internal/testenv"}
	mayUse   = []string{module + "/cmd/hcloudsim", module + "/internal/hcloudsim", module + "/internal/sshhost", module + "/internal/testenv", module + "/test/"}
)

// deps returns every package of the module with its transitive imports
// (test files excluded), as go list reports them.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Deps,Module", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Deps       []string
			Module     *struct{ Path string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module != nil && p.Module.Path == module {
			pkgs[p.ImportPath] = p.Deps
		}
	}
	for _, want := range []string{module + "/plugin", module + "/reconcile", module + "/internal/hcloudclient", module + "/cmd/fleetctl"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("go list did not report %s", want)
		}
	}
	return pkgs
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasSuffix(p, "/") && strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestImportRules(t *testing.T) {
	pkgs := deps(t)
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		for _, d := range pkgs[p] {
			switch {
			case p == module+"/plugin" && (d == module+"/reconcile" || strings.HasPrefix(d, module+"/reconcile/")):
				t.Errorf("the plugin imports the reconciler: %s depends on %s", p, d)
			case hasPrefix(d, testOnly) && !hasPrefix(p, mayUse):
				t.Errorf("production code imports test-only code: %s depends on %s", p, d)
			case p == module+"/internal/hcloudclient" && strings.HasPrefix(d, module+"/"):
				t.Errorf("the Hetzner client layer imports a fleetctl package: %s depends on %s", p, d)
			}
		}
	}
}
