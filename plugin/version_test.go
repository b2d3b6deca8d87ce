package plugin

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"gitlab.com/gitlab-org/fleeting/fleeting/provider"

	"github.com/fleetctl/fleetctl/internal/buildinfo"
	"github.com/fleetctl/fleetctl/internal/hcloudsim"
)

// TestInitReportsTheVersion: gitlab-runner logs the version and build info
// Init returns; they are fleetctl's, in fleeting's format.
func TestInitReportsTheVersion(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, hcloudsim.Options{}, nil)
	g := e.group(t, e.writeFleet(t, basicInstances))
	info, err := g.Init(context.Background(), testLogger(t), provider.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	want := buildinfo.Version()
	if want == buildinfo.Devel {
		want = "dev"
	}
	if info.Version != want {
		t.Errorf("Version %q, want %q", info.Version, want)
	}
	if !strings.Contains(info.BuildInfo, "go="+runtime.Version()) || !strings.Contains(info.BuildInfo, "os_arch="+runtime.GOOS+"/"+runtime.GOARCH) {
		t.Errorf("BuildInfo %q", info.BuildInfo)
	}
}
