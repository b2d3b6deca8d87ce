// Package e2e holds end-to-end tests and benchmarks that drive the built
// fleetctl and hcloudsim binaries as processes, the way a user and CI do:
// apply killed with SIGKILL at many points, apply and destroy against an
// API that fails a share of its requests and SSH connections that drop
// mid-push, two applies racing for the fleet's lock, and the request count,
// wall time and memory of plan and apply.
//
// The tests build both binaries once (TestMain) and start a fresh simulator
// per scenario, with its servers as SSH hosts on loopback addresses.
package e2e
