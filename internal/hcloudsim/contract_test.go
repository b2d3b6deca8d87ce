package hcloudsim

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/fleetctl/fleetctl/internal/testenv"
)

// The Hetzner OpenAPI document is loaded once per test binary.
var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func openAPIRouter(t testing.TB) routers.Router {
	t.Helper()
	path := testenv.HCloudOpenAPI(t)
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			specErr = err
			return
		}
		specRouter, specErr = legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	})
	if specErr != nil {
		t.Fatalf("load %s: %v", path, specErr)
	}
	return specRouter
}

// unspecifiedRoutes are served (hcloud all list reads them) but are not part
// of the Cloud API document.
var unspecifiedRoutes = []string{"/v1/storage_boxes", "/v1/storage_box_types"}

// contract wraps a handler and checks every /v1 response against the
// Hetzner OpenAPI document, failing the test on any mismatch.
type contract struct {
	t      testing.TB
	router routers.Router
	next   http.Handler
}

func newContract(t testing.TB, next http.Handler) *contract {
	return &contract{t: t, router: openAPIRouter(t), next: next}
}

func (c *contract) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())

	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		return
	}
	for _, p := range unspecifiedRoutes {
		if strings.HasPrefix(r.URL.Path, p) {
			return
		}
	}
	u, _ := url.Parse("https://api.hetzner.cloud" + r.URL.RequestURI())
	specReq, _ := http.NewRequestWithContext(context.Background(), r.Method, u.String(), bytes.NewReader(body))
	specReq.Header = r.Header.Clone()
	route, params, err := c.router.FindRoute(specReq)
	if err != nil {
		c.t.Errorf("contract: %s %s: no route in the document: %v", r.Method, r.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: specReq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "\nSchema:"); i >= 0 {
			msg = msg[:i]
		}
		c.t.Errorf("contract: %s %s → %d violates the document: %s\nbody: %s", r.Method, r.URL.RequestURI(), rec.Code, msg, truncate(rec.Body.String(), 1500))
	}
	recordCovered(r.Method, route.Path, rec.Code)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// testEnv is a simulator behind the contract check, and an hcloud-go client
// configured to poll and retry quickly.
type testEnv struct {
	sim      *Sim
	srv      *httptest.Server
	client   *hcloud.Client
	contract *contract
}

func newTestEnv(t testing.TB, opts Options) *testEnv {
	t.Helper()
	sim := New(opts)
	c := newContract(t, sim)
	srv := httptest.NewServer(c)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	return &testEnv{sim: sim, srv: srv, contract: c, client: newClient(srv.URL, "test-token")}
}

func newClient(base, token string) *hcloud.Client {
	return hcloud.NewClient(
		hcloud.WithEndpoint(base+"/v1"),
		hcloud.WithToken(token),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(5 * time.Millisecond)}),
		hcloud.WithRetryOpts(hcloud.RetryOpts{BackoffFunc: hcloud.ConstantBackoff(5 * time.Millisecond), MaxRetries: 2}),
	)
}

// covered collects, across all tests of the binary, the routes whose
// responses passed through a contract check: "METHOD /path/{}/..." → statuses.
var (
	coveredMu sync.Mutex
	covered   = map[string]map[int]bool{}
)

var paramRE = regexp.MustCompile(`\{[^}]*\}`)

func normalizeRoute(method, path string) string {
	return method + " " + paramRE.ReplaceAllString(strings.TrimPrefix(path, "/v1"), "{}")
}

func recordCovered(method, specPath string, status int) {
	coveredMu.Lock()
	defer coveredMu.Unlock()
	key := normalizeRoute(method, specPath)
	if covered[key] == nil {
		covered[key] = map[int]bool{}
	}
	covered[key][status] = true
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && len(covered) > 0 {
		var missing []string
		for _, p := range New(Options{}).patterns {
			method, path, _ := strings.Cut(p, " ")
			path = strings.Replace(path, "/{id}/{sub}", "/{id}/actions", 1)
			if slices.Contains(unspecifiedRoutes, path) || strings.HasPrefix(path, "/v1/storage_box") {
				continue
			}
			if covered[normalizeRoute(method, path)] == nil {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: routes without a contract-checked response:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}
