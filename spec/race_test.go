//go:build race

package spec

// raceSlowdown scales time limits: the race detector slows the YAML parser
// about tenfold.
const raceSlowdown = 10
