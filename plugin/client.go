package plugin

import (
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/hcloudclient"
)

// pollInterval is how often actions are polled: short and constant, since
// the plugin waits on few actions (volumes, deletes before a volume sweep)
// and a long exponential backoff only delays readiness.
const pollInterval = 500 * time.Millisecond

// newClient builds the hcloud-go client the plugin uses: hcloudclient's,
// as reconcile's, so retries, rate-limit waits (each request on its own,
// concurrent ones side by side) and the per-attempt timeout are the same.
// Every wait is logged as a warning.
func newClient(token, endpoint string, log hclog.Logger, base http.RoundTripper, retry hcloudclient.Policy) *hcloud.Client {
	client, _ := hcloudclient.New(hcloudclient.Options{
		Token: token, Endpoint: endpoint, Application: "fleetctl", Version: version(),
		PollInterval: pollInterval, Retry: retry, Base: base,
		Notify: func(w hcloudclient.Wait) {
			if log == nil {
				return
			}
			args := []any{"method", w.Method, "path", w.Path, "until", w.Until.Format(time.RFC3339)}
			if w.RateLimited {
				if !w.Reset.IsZero() {
					args = append(args, "ratelimit_reset", w.Reset.Format(time.RFC3339))
				}
				log.Warn("rate limited by the Hetzner API, waiting", args...)
				return
			}
			log.Warn("Hetzner API request failed, retrying", append(args, "status", w.Status, "attempt", w.Attempt, "max_attempts", w.MaxAttempts)...)
		},
	})
	return client
}
