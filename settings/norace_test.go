//go:build !race

package settings_test

const raceEnabled = false
