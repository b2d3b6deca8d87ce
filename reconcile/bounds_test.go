package reconcile

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// deepTOML is config.toml with one value nested depth arrays deep, as a
// hostile manager could hold it (10,001 deep is 20 KB).
func deepTOML(depth int) []byte {
	return []byte("concurrent = 10\nx = " + strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth) + "\n")
}

// deepFlowYAML nests with brackets; deepBlockYAML with compact block
// sequences ("- - - 1"), which have none.
func deepFlowYAML(depth int) []byte {
	return []byte("version: 1\nx: " + strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth) + "\n")
}

func deepBlockYAML(depth int) []byte {
	return []byte("version: 1\nx:\n" + strings.Repeat("- ", depth) + "1\n")
}

// TestFlattenDocumentDepth checks that documents nested deeper than
// MaxDocumentDepth are unreadable "too deep" (BenchmarkFlattenDeep* print
// what that costs), and that those of a real config's depth still decode.
func TestFlattenDocumentDepth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		format  FileFormat
		data    []byte
		tooDeep bool
	}{
		{"toml 10001", FormatTOML, deepTOML(10001), true},
		{"toml 100000", FormatTOML, deepTOML(100000), true},
		{"toml 65", FormatTOML, deepTOML(MaxDocumentDepth + 1), true},
		{"toml 20", FormatTOML, deepTOML(20), false},
		{"yaml flow 2000", FormatYAML, deepFlowYAML(2000), true},
		{"yaml flow 9000", FormatYAML, deepFlowYAML(9000), true},
		{"yaml block 2000", FormatYAML, deepBlockYAML(2000), true},
		{"yaml block 9000", FormatYAML, deepBlockYAML(9000), true},
		{"yaml block 20", FormatYAML, deepBlockYAML(20), false},
		{"brackets in strings", FormatTOML, []byte(`x = "` + strings.Repeat("[", 1000) + `"` + "\n# " + strings.Repeat("{", 1000) + "\ny = '" + strings.Repeat("[", 100) + "'\n"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			flat, err := flattenDocument(tc.format, tc.data)
			if tc.tooDeep {
				if !errors.Is(err, errTooDeep) || err.Error() != "too deep" {
					t.Fatalf("error = %v, want too deep", err)
				}
			} else if err != nil {
				t.Fatalf("a document of ordinary depth: %v", err)
			} else if len(flat) == 0 {
				t.Fatalf("decoded nothing")
			}
		})
	}
}

// TestNormalizeValuesNeverPanics feeds normalizeValues values nested past
// what encoding/json accepts: they are cut at MaxDocumentDepth instead of
// panicking "exceeded max depth".
func TestNormalizeValuesNeverPanics(t *testing.T) {
	t.Parallel()
	var deep any = 1.0
	for range 10001 {
		deep = []any{deep}
	}
	got := normalizeValues(Values{"content.x": deep, "path": "/etc/gitlab-runner/config.toml"})
	if got["path"] != "/etc/gitlab-runner/config.toml" {
		t.Errorf("path = %v", got["path"])
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), tooDeepValue) || strings.Count(string(b), "[") != MaxDocumentDepth {
		t.Errorf("value not cut at depth %d: %d brackets, %.80s", MaxDocumentDepth, strings.Count(string(b), "["), b)
	}
}

func BenchmarkFlattenDeepTOML(b *testing.B) {
	data := deepTOML(10001)
	for b.Loop() {
		if _, err := flattenDocument(FormatTOML, data); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkFlattenDeepBlockYAML(b *testing.B) {
	data := deepBlockYAML(9000)
	for b.Loop() {
		if _, err := flattenDocument(FormatYAML, data); err == nil {
			b.Fatal("accepted")
		}
	}
}
