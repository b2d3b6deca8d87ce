package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

// FuzzNormalizeConfig feeds NormalizeConfig, which plan runs on the
// config.toml read from the manager (whatever gitlab-runner or a person
// left there), arbitrary bytes. It must never panic; what it accepts is a
// fixed point (normalizing the re-encoded result changes nothing, so that
// a file apply writes compares equal to its own normal form) and holds none
// of the keys gitlab-runner writes back; and those keys, added to a runner,
// never change the result. Seeds are the config.toml files under testdata;
// run it with
//
//	go test ./render -run '^$' -fuzz FuzzNormalizeConfig -fuzztime 1m
func FuzzNormalizeConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.toml")
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("concurrent = 0\n[[runners]]\nid = 7\ntoken_obtained_at = 2026-01-01T00:00:00Z\n[runners.autoscaler]\n[[runners.autoscaler.policy]]\nidle_time = \"1h\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Go's fuzzer has no time limit per input: a hang becomes a
		// crash, and its input a testdata case.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("no result after 10s for %q", data))
			}
		}()
		doc, err := NormalizeConfig(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "decode config.toml: ") {
				t.Fatalf("error %q does not say what failed", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
			// A key TOML can decode but not encode back is no failure
			// of the normalization.
			t.Skipf("re-encode: %v", err)
		}
		again, err := NormalizeConfig(buf.Bytes())
		if err != nil {
			t.Fatalf("the normal form does not decode: %v\n%s", err, buf.String())
		}
		if d := cmp.Diff(doc, again); d != "" {
			t.Fatalf("normalizing twice changes the result (-once +twice):\n%s\n%s", d, buf.String())
		}
		runners, _ := doc["runners"].([]any)
		for i, r := range runners {
			m, ok := r.(map[string]any)
			if !ok {
				continue
			}
			for _, key := range []string{"id", "token_obtained_at", "token_expires_at"} {
				if _, ok := m[key]; ok {
					t.Fatalf("runners[%d].%s, written by gitlab-runner, survived normalization", i, key)
				}
			}
		}
	})
}
