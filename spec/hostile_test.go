package spec

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestHostileInputs feeds inputs built to exhaust a naive loader and checks
// that each is refused with a position, quickly and with bounded memory.
func TestHostileInputs(t *testing.T) {
	aliasBomb := func() []byte {
		var b bytes.Buffer
		b.WriteString("version: 1\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
		for i := 1; i < 40; i++ {
			fmt.Fprintf(&b, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
		}
		return b.Bytes()
	}
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i>>3)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string // a part of the message
	}{
		{"alias bomb", aliasBomb(), "anchors and aliases"},
		{"10 MB scalar", append([]byte("version: 1\nname: "), bytes.Repeat([]byte("a"), 10<<20)...), "limited to 1048576 bytes"},
		{"1 MiB scalar", append([]byte("version: 1\nname: "), bytes.Repeat([]byte("a"), MaxFileSize-20)...), "name"},
		{"binary garbage", garbage, "is this a binary file?"},
		{"NUL bytes", []byte("version: 1\x00\x00\x00"), "NUL byte"},
		{"list document", []byte("- a\n- b\n"), "the document is a list"},
		{"deep flow nesting", append(bytes.Repeat([]byte("["), 500<<10), bytes.Repeat([]byte("]"), 500<<10)...), ""},
		{"deep block nesting", []byte(strings.Repeat("a:\n ", 15000)), ""},
		{"many lines", []byte(strings.Repeat("k: v\n", 200000)), "file has 200000 lines"},
		{"many flow entries", []byte("{" + strings.Repeat("k: v, ", 100000) + "}"), "100000 commas"},
		{"most lines allowed", []byte(strings.Repeat("k: v\n", MaxLines)), "stopped after 50 problems"},
		{"many documents", []byte(strings.Repeat("---\nversion: 1\n", 5000)), "second YAML document"},
		{"control characters", []byte("version: 1\nname: \x07\x1b[31m\n"), "2:7: control character U+0007"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Parse("hostile.yaml", tc.data)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			var problems Problems
			if !errors.As(err, &problems) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q: %.300s", tc.want, err)
			}
			if len(problems) > 1000 {
				t.Errorf("%d problems: a hostile file must not produce unbounded output", len(problems))
			}
			// Generous bounds for a loaded 2-core machine; a naive loader
			// takes minutes and gigabytes on these.
			if limit := 5 * time.Second * raceSlowdown; elapsed > limit {
				t.Errorf("took %v", elapsed)
			}
			t.Logf("%v, %d MiB allocated", elapsed, (after.TotalAlloc-before.TotalAlloc)>>20)
			if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 256<<20 {
				t.Errorf("allocated %d MiB", allocated>>20)
			}
		})
	}
}
