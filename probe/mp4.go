package probe

import (
	"errors"
	"fmt"
	"io"
	"math"

	mp4 "github.com/abema/go-mp4"
)

// Limits of the MP4 reader.
const (
	// maxSttsBytes caps one stts box (8 bytes per run of equal frame
	// durations: 2 Mi runs, a variable-rate video of more than 19 hours at
	// 30 fps). Larger tables are refused rather than read.
	maxSttsBytes = 16 << 20
	// moovPrefetch is the largest moov fetched in one request; a larger one
	// is read box by box, skipping the sample tables.
	moovPrefetch = 1 << 20
	// maxDimension caps a declared width or height, for images and videos.
	maxDimension = 1 << 20
)

// errIncomplete is returned with a partial result when the MP4 keeps its
// frame timing in movie fragments (moof), which the pure Go reader does not
// walk; ffprobe may.
var errIncomplete = errors.New("fragmented MP4: the frame count is in the movie fragments")

type mp4Track struct {
	id           uint32
	handler      string
	tkhdW, tkhdH uint32 // 16.16 fixed point
	matrix       [9]int32
	timescale    uint32
	mdhdDuration uint64
	entryW       uint16 // from the first visual sample entry
	entryH       uint16
	frames       uint64 // sum of stts sample counts
	sttsDuration uint64 // sum of stts count*delta
}

type mp4Movie struct {
	timescale        uint32 // mvhd
	duration         uint64 // mvhd
	fragmentDuration uint64 // mehd, movie timescale
	fragmented       bool   // mvex present
	trexDuration     map[uint32]uint32
	tracks           []*mp4Track
}

// prefetcher is implemented by readers that can fetch a range in one go.
type prefetcher interface{ prefetch(off, n int64) }

// parseMP4 reads the dimensions and timing of the first video track of an
// MP4/MOV file of the given size. It reads the top-level box headers and the
// moov box's track headers and timing tables, never mdat or the sample
// size/offset tables. pf, when not nil, is told where moov is.
func parseMP4(r io.ReadSeeker, size int64, pf prefetcher) (Result, error) {
	if size == 0 {
		return Result{}, errorf(KindFormat, "the file is empty (0 bytes)")
	}
	var (
		off   int64
		moov  *mp4.BoxInfo
		mctx  mp4.Context
		boxes int
	)
	for off < size {
		if size-off < mp4.SmallHeaderSize {
			break // trailing bytes too few for a box
		}
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			return Result{}, err
		}
		bi, err := mp4.ReadBoxInfo(r)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return Result{}, damaged(off, err)
		}
		boxes++
		if !printable(bi.Type) || bi.Size < bi.HeaderSize {
			if off == 0 {
				return Result{}, errorf(KindFormat, "not a video: the file does not start like an MP4 or MOV file")
			}
			return Result{}, errorf(KindFormat, "the MP4 file is damaged: no valid box at offset %d", off)
		}
		if bi.Size > uint64(size-off) {
			if bi.Type == mp4.BoxTypeMoov() {
				return Result{}, errorf(KindFormat, "the file is truncated: its moov box (the metadata) declares %d bytes but the file ends %d bytes after its start", bi.Size, size-off)
			}
			return Result{}, errorf(KindFormat, "moov missing: the file is truncated (its %s box at offset %d declares %d bytes, the file has %d) and has no moov box (the metadata) before that point", bi.Type, off, bi.Size, size)
		}
		switch bi.Type {
		case mp4.BoxTypeFtyp():
			qt, err := ftypIsQuickTime(r, bi)
			if err != nil {
				return Result{}, damaged(off, err)
			}
			mctx.IsQuickTimeCompatible = mctx.IsQuickTimeCompatible || qt
		case mp4.BoxTypeMoov():
			moov = bi
		}
		if moov != nil {
			break
		}
		off += int64(bi.Size)
	}
	if moov == nil {
		if boxes == 0 {
			return Result{}, errorf(KindFormat, "not a video: the file is too short (%d bytes) to be an MP4 or MOV file", size)
		}
		return Result{}, errorf(KindFormat, "moov missing: the file has no moov box (the metadata); it may be an unfinished recording or not a complete MP4")
	}
	if pf != nil && moov.Size <= moovPrefetch {
		pf.prefetch(int64(moov.Offset), int64(moov.Size))
	}
	moov.Context = mctx

	mv := &mp4Movie{trexDuration: map[uint32]uint32{}}
	var cur *mp4Track
	var handler mp4.ReadHandler
	handler = func(h *mp4.ReadHandle) (any, error) {
		p := h.Path
		n := len(p)
		switch {
		case is(p, "moov"), is(p, "moov", "trak", "mdia"), is(p, "moov", "trak", "mdia", "minf"),
			is(p, "moov", "trak", "mdia", "minf", "stbl"), is(p, "moov", "trak", "mdia", "minf", "stbl", "stsd"):
			return h.Expand()
		case is(p, "moov", "mvex"):
			mv.fragmented = true
			return h.Expand()
		case is(p, "moov", "trak"):
			t := &mp4Track{}
			mv.tracks = append(mv.tracks, t)
			prev := cur
			cur = t
			defer func() { cur = prev }()
			return h.Expand()
		}
		if n < 2 || n > 7 {
			return nil, nil
		}
		switch {
		case is(p, "moov", "mvhd"):
			b, err := payload[*mp4.Mvhd](h)
			if err != nil {
				return nil, err
			}
			mv.timescale, mv.duration = b.Timescale, b.GetDuration()
		case is(p, "moov", "mvex", "mehd"):
			b, err := payload[*mp4.Mehd](h)
			if err != nil {
				return nil, err
			}
			mv.fragmentDuration = b.GetFragmentDuration()
		case is(p, "moov", "mvex", "trex"):
			b, err := payload[*mp4.Trex](h)
			if err != nil {
				return nil, err
			}
			mv.trexDuration[b.TrackID] = b.DefaultSampleDuration
		case cur == nil:
		case is(p, "moov", "trak", "tkhd"):
			b, err := payload[*mp4.Tkhd](h)
			if err != nil {
				return nil, err
			}
			cur.id, cur.tkhdW, cur.tkhdH, cur.matrix = b.TrackID, b.Width, b.Height, b.Matrix
		case is(p, "moov", "trak", "mdia", "mdhd"):
			b, err := payload[*mp4.Mdhd](h)
			if err != nil {
				return nil, err
			}
			cur.timescale, cur.mdhdDuration = b.Timescale, b.GetDuration()
		case is(p, "moov", "trak", "mdia", "hdlr"):
			b, err := payload[*mp4.Hdlr](h)
			if err != nil {
				return nil, err
			}
			cur.handler = string(b.HandlerType[:])
		case is(p, "moov", "trak", "mdia", "minf", "stbl", "stts"):
			if h.BoxInfo.Size-h.BoxInfo.HeaderSize > maxSttsBytes {
				return nil, errorf(KindLimit, "the video's frame timing table (stts) is larger than %s; the hub does not read it", formatBytes(maxSttsBytes))
			}
			b, err := payload[*mp4.Stts](h)
			if err != nil {
				return nil, err
			}
			if uint64(b.EntryCount) != uint64(len(b.Entries)) {
				return nil, errorf(KindFormat, "the MP4 metadata (moov) is damaged: its stts box declares %d entries and holds %d", b.EntryCount, len(b.Entries))
			}
			for _, e := range b.Entries {
				cur.frames += uint64(e.SampleCount)
				cur.sttsDuration += uint64(e.SampleCount) * uint64(e.SampleDelta)
			}
		case n == 7 && is(p[:6], "moov", "trak", "mdia", "minf", "stbl", "stsd"):
			if cur.entryW != 0 || !h.BoxInfo.IsSupportedType() {
				return nil, nil
			}
			box, _, err := h.ReadPayload()
			if err != nil {
				return nil, err
			}
			if v, ok := box.(*mp4.VisualSampleEntry); ok {
				cur.entryW, cur.entryH = v.Width, v.Height
			}
		}
		return nil, nil
	}
	if _, err := mp4.ReadBoxStructureFromInternal(r, moov, handler); err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return Result{}, pe
		}
		return Result{}, errorf(KindFormat, "the MP4 metadata (moov) is damaged: %s", shorten(err.Error()))
	}
	return mv.result()
}

// result picks the first video track and computes the Result.
func (mv *mp4Movie) result() (Result, error) {
	var t *mp4Track
	audio := false
	for _, tr := range mv.tracks {
		if tr.handler == "vide" {
			t = tr
			break
		}
		audio = audio || tr.handler == "soun"
	}
	if t == nil {
		if audio {
			return Result{}, errorf(KindFormat, "no video track: the file has only audio")
		}
		return Result{}, errorf(KindFormat, "no video track in the file")
	}
	var res Result
	w, h := int(math.Round(float64(t.tkhdW)/65536)), int(math.Round(float64(t.tkhdH)/65536))
	if w == 0 || h == 0 {
		w, h = int(t.entryW), int(t.entryH)
	}
	if rotated(t.matrix) {
		w, h = h, w
	}
	if w <= 0 || h <= 0 {
		return Result{}, errorf(KindFormat, "the video track declares no width and height")
	}
	if w > maxDimension || h > maxDimension {
		return Result{}, errorf(KindFormat, "the video declares %dx%d pixels, more than the limit of %d per side", w, h, maxDimension)
	}
	res.Width, res.Height = w, h
	if t.timescale == 0 {
		return Result{}, errorf(KindFormat, "the video track's timescale (mdhd) is 0")
	}
	dur := t.mdhdDuration
	if dur == 0 || dur == math.MaxUint32 || dur == math.MaxUint64 {
		dur = t.sttsDuration
	}
	if t.frames == 0 && mv.fragmented {
		// Frame timing lives in the fragments; the defaults of trex and the
		// duration of mehd (or mvhd) give it when the rate is constant.
		res.Duration = movieSeconds(mv)
		if d := mv.trexDuration[t.id]; d > 0 {
			res.FrameRate = float64(t.timescale) / float64(d)
			if res.Duration > 0 {
				res.FrameCount = int(math.Round(res.Duration * res.FrameRate))
			}
		}
		if res.FrameCount == 0 {
			return res, errIncomplete
		}
		return res, nil
	}
	if t.frames == 0 {
		return Result{}, errorf(KindFormat, "the video track has no frames")
	}
	if t.frames > math.MaxInt32 {
		return Result{}, errorf(KindFormat, "the video track declares %d frames, more than the hub accepts", t.frames)
	}
	res.FrameCount = int(t.frames)
	if dur > 0 {
		res.Duration = float64(dur) / float64(t.timescale)
		res.FrameRate = float64(t.frames) / res.Duration
	}
	return res, nil
}

func movieSeconds(mv *mp4Movie) float64 {
	if mv.timescale == 0 {
		return 0
	}
	d := mv.fragmentDuration
	if d == 0 || d == math.MaxUint32 || d == math.MaxUint64 {
		d = mv.duration
	}
	if d == math.MaxUint32 || d == math.MaxUint64 {
		return 0
	}
	return float64(d) / float64(mv.timescale)
}

// rotated reports whether a track matrix turns the picture by 90 or 270
// degrees (players and browsers show it turned, so width and height swap).
func rotated(m [9]int32) bool {
	return m[0] == 0 && m[4] == 0 && m[1] != 0 && m[3] != 0
}

func payload[T mp4.IBox](h *mp4.ReadHandle) (T, error) {
	var zero T
	box, _, err := h.ReadPayload()
	if err != nil {
		return zero, err
	}
	b, ok := box.(T)
	if !ok {
		return zero, fmt.Errorf("unexpected %s box", h.BoxInfo.Type)
	}
	return b, nil
}

// ftypIsQuickTime reads the brands of an ftyp box (at most 64 of them).
func ftypIsQuickTime(r io.ReadSeeker, bi *mp4.BoxInfo) (bool, error) {
	n := min(bi.Size-bi.HeaderSize, 8+64*4)
	if n < 8 {
		return false, nil
	}
	if _, err := bi.SeekToPayload(r); err != nil {
		return false, err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return false, err
	}
	if string(buf[:4]) == "qt  " {
		return true, nil
	}
	for i := 8; i+4 <= len(buf); i += 4 {
		if string(buf[i:i+4]) == "qt  " {
			return true, nil
		}
	}
	return false, nil
}

func is(p mp4.BoxPath, types ...string) bool {
	if len(p) != len(types) {
		return false
	}
	for i, t := range types {
		if p[i] != mp4.StrToBoxType(t) {
			return false
		}
	}
	return true
}

func printable(t mp4.BoxType) bool {
	for _, c := range t {
		if c < 0x20 || c > 0x7e {
			// QuickTime allows © (0xa9) in udta atoms, never at the top level.
			return false
		}
	}
	return true
}

func damaged(off int64, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return errorf(KindFormat, "the MP4 file is damaged at offset %d: %s", off, shorten(err.Error()))
}

func shorten(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
