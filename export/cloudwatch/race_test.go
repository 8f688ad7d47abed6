//go:build race

package cloudwatch_test

const raceEnabled = true
