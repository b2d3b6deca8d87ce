//go:build !race

package spec

// raceSlowdown scales time limits; see race_test.go.
const raceSlowdown = 1
