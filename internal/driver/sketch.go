package driver

import (
	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// SketchAccuracy is the relative accuracy of the duration sketches of the
// rollups (DDSketch): a percentile read from them is within 1% of the
// duration of the rank asked for.
const SketchAccuracy = 0.01

// NewSketch returns an empty duration sketch.
func NewSketch() *ddsketch.DDSketch {
	s, err := ddsketch.LogUnboundedDenseDDSketch(SketchAccuracy)
	if err != nil {
		panic(err) // the accuracy is a valid constant
	}
	return s
}

var sketchMapping = NewSketch().IndexMapping

// EncodeSketch returns the bytes of s as the rollups keep them (the index
// mapping left out: it is always that of [NewSketch]).
func EncodeSketch(s *ddsketch.DDSketch) []byte {
	var b []byte
	s.Encode(&b, true)
	return b
}

// DecodeSketch decodes a sketch of the rollups.
func DecodeSketch(b []byte) (*ddsketch.DDSketch, error) {
	return ddsketch.DecodeDDSketch(b, store.DenseStoreConstructor, sketchMapping)
}
