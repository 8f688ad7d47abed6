package cloudwatch

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/auditkit/audit/settings"
)

// blockSet is the blocks an exporter matches, built from the settings'
// export blocks it was made from (src) and Options.Blocks.
type blockSet struct {
	src    []settings.ExportBlock
	blocks []block
}

// dynamic keeps the blocks that follow Options.SettingsBlocks.
type dynamic struct {
	set atomic.Pointer[blockSet]
	mu  sync.Mutex // serializes rebuilds
}

// sameSlice reports whether a and b are the same slice: the settings
// engine returns the same slice until its policy changes.
func sameSlice(a, b []settings.ExportBlock) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// FromSettings converts the settings' export blocks of the sink named sink
// ([settings.ExportBlock.SinkName]) into Blocks, in order. A block without
// a name is named after its place in the document, "exports[i]". Params
// nil is [AllParams], empty is [NoParams]; format "text" is [FormatText], any
// other [FormatJSON]. The blocks use the exporter's connection.
func FromSettings(sink string, blocks []settings.ExportBlock) []Block {
	var out []Block
	for i := range blocks {
		s := &blocks[i]
		if s.SinkName() != sink {
			continue
		}
		b := Block{
			Name: s.Name, Disabled: s.Disabled, Levels: s.Levels, Types: s.Types,
			LogGroup: s.LogGroup, Streams: s.Streams, DefaultStream: s.DefaultStream, BatchSize: s.BatchSize,
		}
		if b.Name == "" {
			b.Name = fmt.Sprintf("exports[%d]", i)
		}
		if s.Params != nil {
			b.Params = OnlyParams(s.Params...)
		}
		if s.Format == "text" {
			b.Format = FormatText
		}
		out = append(out, b)
	}
	return out
}

// build readies blocks for matching; shared is the connection of the blocks
// without their own, made on first need. The blocks must be valid.
func build(blocks []Block, opts *Options, shared *API) []block {
	out := make([]block, 0, len(blocks))
	for _, b := range blocks {
		bl := block{Block: b}
		switch {
		case b.Client != nil:
			bl.api = b.Client
		case b.AWS != nil:
			bl.api = cloudwatchlogs.NewFromConfig(*b.AWS)
		default:
			if *shared == nil {
				*shared = opts.Client
				if *shared == nil {
					*shared = cloudwatchlogs.NewFromConfig(*opts.AWS)
				}
			}
			bl.api = *shared
		}
		for _, l := range b.Levels {
			bl.levels |= 1 << l
		}
		if len(b.Types) > 0 {
			bl.types = map[string]bool{}
			for _, t := range b.Types {
				bl.types[t] = true
			}
		}
		out = append(out, bl)
	}
	return out
}

// current returns the blocks to match now: Options.Blocks, after the
// settings' blocks of this exporter when Options.SettingsBlocks is set.
// When the settings' blocks changed since the last call they are rebuilt;
// blocks the exporter cannot use are reported to OnError once, and the
// blocks in force stay.
func (x *Exporter) current() []block {
	if x.opts.SettingsBlocks == nil {
		return x.blocks
	}
	src := x.opts.SettingsBlocks()
	if cur := x.dyn.set.Load(); cur != nil && sameSlice(cur.src, src) {
		return cur.blocks
	}
	x.dyn.mu.Lock()
	defer x.dyn.mu.Unlock()
	cur := x.dyn.set.Load()
	if cur != nil && sameSlice(cur.src, src) {
		return cur.blocks
	}
	next := &blockSet{src: src}
	blocks, err := x.fromSettings(src)
	switch {
	case err == nil:
		next.blocks = blocks
	case cur != nil:
		next.blocks = cur.blocks
		x.opts.OnError(fmt.Errorf("cloudwatch: %w; the export blocks in force stay", err))
	default:
		next.blocks = x.blocks
		x.opts.OnError(fmt.Errorf("cloudwatch: %w; only Options.Blocks are in force", err))
	}
	x.dyn.set.Store(next)
	return next.blocks
}

// fromSettings builds the settings' blocks of this exporter, followed by
// Options.Blocks, checking them as New checks Options.
func (x *Exporter) fromSettings(src []settings.ExportBlock) ([]block, error) {
	mine := FromSettings(x.opts.Name, src)
	check := x.opts
	check.Blocks = mine
	check.SettingsBlocks = nil
	check = check.withDefaults()
	if len(mine) > 0 {
		if err := check.validate(); err != nil {
			return nil, fmt.Errorf("export blocks from settings: %w", err)
		}
	}
	blocks := build(check.Blocks, &x.opts, &x.shared)
	return append(blocks, x.blocks...), nil
}

var errNoConnection = errors.New("no connection: set Options.AWS or Options.Client for the blocks from settings")
