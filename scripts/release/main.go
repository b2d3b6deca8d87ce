// Command release builds fleetctl's release artifacts into a directory:
//
//	go run ./scripts/release -snapshot -dist dist   # any commit, nothing published
//	go run ./scripts/release -dist dist             # HEAD tagged vX.Y.Z, clean tree
//
// It needs only git and the Go toolchain. Publishing the directory's files
// is left to whoever holds the credentials.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/fleetctl/fleetctl/internal/release"
)

func main() {
	dist := flag.String("dist", "dist", "output directory (replaced)")
	snapshot := flag.Bool("snapshot", false, "build any commit as a snapshot version")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	src, err := release.Build(ctx, release.Options{Repo: ".", Dist: *dist, Snapshot: *snapshot, Go: os.Getenv("GO"), Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
	fmt.Printf("fleetctl %s (commit %s) in %s\n", src.Version, src.Commit, *dist)
}
