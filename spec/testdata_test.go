package spec

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fileLevelProblem matches the problems that concern the whole file, found
// before there is a tree of fields to name a path in.
var fileLevelProblem = regexp.MustCompile(`^(YAML syntax error|file |the document|a second YAML document|control character|NUL byte)`)

var update = flag.Bool("update", false, "rewrite the .want files of testdata/invalid-*.yaml")

// TestInvalidFiles loads every testdata/invalid-*.yaml, each one realistic
// mistake, and compares the problems with the sibling .want file: the exact
// file:line:col: path: message lines a user sees.
func TestInvalidFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 45 {
		t.Fatalf("found %d invalid files, want at least 45", len(files))
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			t.Parallel()
			f, err := Load(path)
			if err == nil {
				t.Fatalf("Load accepted it: %+v", f)
			}
			var problems Problems
			if !errors.As(err, &problems) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			for _, p := range problems {
				if p.Pos.Line == 0 || p.Pos.Col == 0 {
					t.Errorf("problem without a position: %v", p)
				}
				if p.Warning {
					t.Errorf("Parse returned a warning: %v", p)
				}
				if p.File != path {
					t.Errorf("problem names file %q, want %q", p.File, path)
				}
				if p.Path == "" && !fileLevelProblem.MatchString(p.Message) {
					t.Errorf("problem without a field path: %v", p)
				}
			}
			got := err.Error() + "\n"
			wantPath := strings.TrimSuffix(path, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run go test ./spec -run TestInvalidFiles -update to create it)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("problems differ from %s (-want +got):\n%s", wantPath, d)
			}
		})
	}
}

// TestValidFiles loads every testdata/valid-*.yaml and shipped example.
func TestValidFiles(t *testing.T) {
	t.Parallel()
	for _, path := range validFiles(t) {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			if _, err := Load(path); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func validFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"testdata/valid-*.yaml", "../examples/*.yaml", "../examples/*/*.yaml"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	if len(files) < 4 {
		t.Fatalf("found only %d valid files", len(files))
	}
	return files
}
