package dataset

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the decoder
	_ "image/png"  // register the decoder
	"io"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
)

// ratioFloor is the uncompressed size of an entry below which its
// compression ratio is not checked: tiny entries cannot hurt, and a few
// bytes of deflate legitimately expand a lot.
const ratioFloor = 64 << 10

// parseZip reads a zip archive held in memory (at most MaxBytes). An
// archive holding a file named vectors.tsv is Embedding Projector data
// (with metadata.tsv beside it, if present); any other archive holds PNG or
// JPEG images, one folder per class.
//
// Every entry's name is checked first: an absolute path or a ".." element
// anywhere refuses the whole archive. Entries are then decompressed through
// a reader that counts the bytes actually produced and stops at the
// per-entry, total and ratio limits, whatever the headers claim.
func (p *parser) parseZip() (*Dataset, error) {
	data, err := readArchive(p.in)
	if errors.Is(err, errTooBig) || p.in.tooBig() {
		return nil, p.fail(0, 0, p.tooBigMsg())
	}
	if err != nil {
		return nil, p.readFailed(err)
	}
	if data.size == 0 {
		return nil, p.fail(0, 0, msgEmpty)
	}
	// Count central directory headers before archive/zip allocates a File
	// for each: a small archive of empty entries could otherwise cost
	// hundreds of megabytes. Stray signatures inside entries only make the
	// count an overestimate.
	if n := data.count([]byte("PK\x01\x02")); n > p.lim.MaxEntries {
		return nil, p.fail(0, 0, p.entriesMsg(n))
	}
	zr, err := zip.NewReader(data, data.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, &ParseError{File: p.file, err: err,
			Msg: "this is not a zip the explorer can read (it may be damaged, or cut short): zip the folders again and upload the new zip"}
	}
	if len(zr.File) > p.lim.MaxEntries {
		return nil, p.fail(0, 0, p.entriesMsg(len(zr.File)))
	}
	for _, f := range zr.File {
		if msg := unsafeName(f.Name); msg != "" {
			return nil, p.fail(0, 0, fmt.Sprintf("the zip holds %s, whose name %s, which is not safe to unpack: "+
				"make the zip again from the folder that holds your class folders", quote(f.Name), msg))
		}
	}
	z := &zipReader{p: p}
	for _, f := range zr.File {
		if strings.EqualFold(path.Base(entryName(f.Name)), "vectors.tsv") && !skipEntry(f) {
			p.format = FormatProjector
			return z.projector(zr, f)
		}
	}
	return z.images(zr)
}

// entriesMsg refuses a zip of n entries, more than MaxEntries.
func (p *parser) entriesMsg(n int) string {
	return fmt.Sprintf("the zip holds %d files and folders, more than the limit of %d: upload fewer pictures", n, p.lim.MaxEntries)
}

// archive holds a zip read whole, in blocks: reading it so allocates its
// size once, where one growing slice would allocate about twice that.
type archive struct {
	blocks [][]byte // all full but the last
	off    []int64  // offset of each block
	size   int64
}

// readArchive reads r to its end, or to its first error.
func readArchive(r io.Reader) (*archive, error) {
	a := &archive{}
	for {
		b := make([]byte, min(max(a.size, 64<<10), 1<<20))
		n, err := io.ReadFull(r, b)
		if n > 0 {
			a.blocks = append(a.blocks, b[:n])
			a.off = append(a.off, a.size)
			a.size += int64(n)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return a, nil
		case err != nil:
			return a, err
		}
	}
}

// ReadAt implements io.ReaderAt, for archive/zip.
func (a *archive) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off >= a.size {
		return 0, io.EOF
	}
	i := sort.Search(len(a.off), func(i int) bool { return a.off[i] > off }) - 1
	n := 0
	for ; n < len(b) && i < len(a.blocks); i++ {
		n += copy(b[n:], a.blocks[i][off+int64(n)-a.off[i]:])
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// count returns how often sig (of 2 to 8 bytes) occurs in the archive,
// within a block or across blocks.
func (a *archive) count(sig []byte) int {
	k := len(sig) - 1
	var carry [7]byte // the last k bytes before the current block
	var seam [14]byte
	nc, n := 0, 0
	for _, b := range a.blocks {
		n += bytes.Count(b, sig)
		m := 0
		if nc > 0 {
			// A match here starts before b and ends in it: each is counted
			// once, at the block where it ends.
			m = copy(seam[:], carry[:nc])
			m += copy(seam[m:m+k], b)
			n += bytes.Count(seam[:m], sig)
		}
		tail := b
		if len(b) < k && nc > 0 {
			tail = seam[:m]
		}
		nc = copy(carry[:], tail[max(len(tail)-k, 0):])
	}
	return n
}

// unsafeName says why an entry name is refused, or returns "".
func unsafeName(name string) string {
	n := strings.ReplaceAll(name, `\`, "/")
	switch {
	case strings.ContainsRune(name, 0):
		return "holds a NUL byte"
	case strings.HasPrefix(n, "/"):
		return "is an absolute path"
	case len(n) >= 2 && n[1] == ':':
		return "starts with a drive letter"
	}
	for _, elem := range strings.Split(n, "/") {
		if elem == ".." {
			return "climbs out of the zip with \"..\""
		}
	}
	return ""
}

// entryName returns an entry's name with forward slashes and valid UTF-8.
func entryName(name string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(name, `\`, "/"), "\uFFFD")
}

// skipEntry reports folders and the clutter archivers add (macOS resource
// forks, hidden files).
func skipEntry(f *zip.File) bool {
	n := entryName(f.Name)
	base := path.Base(n)
	return f.FileInfo().IsDir() || strings.HasSuffix(n, "/") || strings.HasPrefix(n, "__MACOSX/") ||
		strings.HasPrefix(base, ".")
}

// zipReader reads entries of one archive within the limits.
type zipReader struct {
	p     *parser
	total int64        // uncompressed bytes read so far
	buf   bytes.Buffer // the current entry
}

// file names f in messages; entry names may be 65,535 bytes long.
func (z *zipReader) file(f *zip.File) string { return z.p.file + "/" + displayName(entryName(f.Name)) }

// read decompresses f into z.buf.
func (z *zipReader) read(f *zip.File) error {
	z.buf.Reset()
	if f.UncompressedSize64 > uint64(z.p.lim.MaxEntryBytes) {
		// The header may lie in either direction; this only refuses early
		// what the counting reader would refuse anyway.
		return z.tooBig(f)
	}
	rc, err := f.Open()
	if err != nil {
		return &ParseError{File: z.file(f), err: err,
			Msg: "this file in the zip cannot be unpacked (it may be damaged, or packed in a way the explorer does not read): " +
				"zip the folders again with an ordinary zip program"}
	}
	defer rc.Close()
	_, err = z.buf.ReadFrom(&entryReader{z: z, f: f, r: rc})
	var pe *ParseError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, zip.ErrChecksum):
		return &ParseError{File: z.file(f), Msg: "this file in the zip is damaged (its checksum is wrong): " + msgZipAgain}
	case errors.Is(err, zip.ErrFormat):
		// archive/zip stops an entry that outgrows its header's size.
		return &ParseError{File: z.file(f), Msg: "this file in the zip is damaged (its size disagrees with the zip's index): " + msgZipAgain}
	default:
		return &ParseError{File: z.file(f), Msg: "this file in the zip is damaged: " + msgZipAgain, err: err}
	}
}

// msgZipAgain is the fix of a damaged zip.
const msgZipAgain = "zip the folders again and upload the new zip"

func (z *zipReader) tooBig(f *zip.File) *ParseError {
	return &ParseError{File: z.file(f), Msg: fmt.Sprintf("this file unpacks to more than %s, the most for one file: "+
		"shrink it, or leave it out of the zip", FormatSize(z.p.lim.MaxEntryBytes))}
}

// entryReader counts the bytes a zip entry decompresses to and fails as
// soon as the entry or the archive passes a limit, or the entry expands
// more than MaxRatio times its compressed size.
type entryReader struct {
	z *zipReader
	f *zip.File
	r io.Reader
	n int64
}

func (e *entryReader) Read(b []byte) (int, error) {
	k, err := e.r.Read(b)
	e.n += int64(k)
	e.z.total += int64(k)
	lim := &e.z.p.lim
	switch {
	case e.n > lim.MaxEntryBytes:
		return k, e.z.tooBig(e.f)
	case e.z.total > lim.MaxTotalBytes:
		return k, &ParseError{File: e.z.p.file, Msg: fmt.Sprintf("the zip unpacks to more than %s in all, the most the explorer unpacks: "+
			"upload fewer pictures, or smaller ones", FormatSize(lim.MaxTotalBytes))}
	case e.n > ratioFloor && e.n > int64(max(e.f.CompressedSize64, 1))*int64(lim.MaxRatio):
		return k, &ParseError{File: e.z.file(e.f), Msg: fmt.Sprintf("this file unpacks to more than %d times its packed size, "+
			"which no picture does (PNG and JPEG are compressed already): leave it out of the zip", lim.MaxRatio)}
	}
	return k, err
}

// projector reads vectors.tsv from f and metadata.tsv beside it, if any.
func (z *zipReader) projector(zr *zip.Reader, f *zip.File) (*Dataset, error) {
	if err := z.read(f); err != nil {
		return nil, err
	}
	vectors := slices.Clone(z.buf.Bytes())
	name := entryName(f.Name)
	var meta io.Reader
	var metaFile string
	want := path.Join(path.Dir(name), "metadata.tsv")
	for _, g := range zr.File {
		if strings.EqualFold(entryName(g.Name), want) && !skipEntry(g) {
			if err := z.read(g); err != nil {
				return nil, err
			}
			meta, metaFile = bytes.NewReader(z.buf.Bytes()), z.file(g)
			break
		}
	}
	if meta == nil {
		meta, metaFile = z.p.opts.Metadata, z.p.opts.MetadataName
	}
	ds, err := z.p.parseProjector(bufio.NewReader(bytes.NewReader(vectors)), z.file(f), nil, "")
	if err != nil {
		return nil, err
	}
	if meta != nil {
		file := metaFile
		if file == "" {
			file = "metadata.tsv"
		}
		if !strings.Contains(file, "/") {
			file = baseName(file)
		}
		if err := z.p.projectorMetadata(ds, newInput(meta, z.p.lim.MaxBytes).Reader, file); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// images reads every PNG and JPEG entry in name order. An image's label is
// the name of the folder holding it; images at the top level are
// unlabelled. Each image is checked from its header (format, dimensions,
// and the pixels of all images so far) before it is decoded, then
// converted to grey, cropped to its central square and resized to
// Side×Side by averaging (or, when smaller, by repeating pixels).
func (z *zipReader) images(zr *zip.Reader) (*Dataset, error) {
	p := z.p
	var files []*zip.File
	for _, f := range zr.File {
		if skipEntry(f) {
			continue
		}
		switch strings.ToLower(path.Ext(f.Name)) {
		case ".png", ".jpg", ".jpeg":
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, p.fail(0, 0, "the zip holds no PNG or JPEG pictures: put your pictures in it, one folder per class (cats/1.png, dogs/2.png …)")
	}
	if len(files) > p.lim.MaxItems {
		return nil, p.fail(0, 0, fmt.Sprintf("the zip holds %d pictures, more than the limit of %d: upload at most %d",
			len(files), p.lim.MaxItems, p.lim.MaxItems))
	}
	slices.SortStableFunc(files, func(a, b *zip.File) int { return strings.Compare(entryName(a.Name), entryName(b.Name)) })

	side := p.side
	if side*side > p.lim.MaxDims {
		return nil, p.fail(0, 0, fmt.Sprintf("pictures of %d×%d pixels have more than %d values, the most the explorer takes: "+
			"choose an Image side of at most %d in the upload options", side, side, p.lim.MaxDims, maxSide(p.lim.MaxDims)))
	}
	held := int64(len(files)) * (4*int64(side*side) + itemBytes + stringBytes)
	for _, f := range files {
		held += int64(len(entryName(f.Name)))
	}
	if p.overBudget(held) {
		return nil, p.fail(0, 0, p.budgetMsg())
	}
	ds := &Dataset{Kind: Images, Dim: side * side, Width: side, Height: side,
		X: make([]float32, 0, len(files)*side*side)}
	cls := newClasses(p.lim.MaxClasses)
	var g greyScaler
	var pixels int64 // of the images so far
	for _, f := range files {
		if err := p.stopped(); err != nil {
			return nil, err
		}
		name := entryName(f.Name)
		label := int32(NoLabel)
		if dir := path.Dir(name); dir != "." {
			var ok bool
			if label, ok = cls.id(path.Base(dir)); !ok {
				return nil, &ParseError{File: z.file(f), Msg: p.tooManyLabelsMsg(cls.max, "")}
			}
		}
		if err := z.read(f); err != nil {
			return nil, err
		}
		cfg, msg := imageHeader(z.buf.Bytes(), p.lim.MaxImagePixels, side)
		if msg != "" {
			return nil, &ParseError{File: z.file(f), Msg: msg}
		}
		if pixels += int64(cfg.Width) * int64(cfg.Height); pixels > p.lim.MaxPixels {
			return nil, p.fail(0, 0, fmt.Sprintf("the pictures hold more than %s in all, the most the explorer decodes for one upload: "+
				"shrink them (they are made %d×%d anyway), or upload fewer", formatPixels(p.lim.MaxPixels), side, side))
		}
		img, err := decodeImage(z.buf.Bytes(), cfg)
		if err != nil {
			return nil, &ParseError{File: z.file(f), err: err,
				Msg: "this picture is damaged and cannot be decoded: open it and save it again as PNG or JPEG, or leave it out of the zip"}
		}
		ds.X = ds.X[:len(ds.X)+side*side]
		g.scale(ds.X[len(ds.X)-side*side:], img, side, p.opts.Invert)
		ds.Labels = append(ds.Labels, label)
		ds.Text = append(ds.Text, name)
	}
	ds.ClassNames = cls.names
	return ds, nil
}

// formatPixels states a pixel count the way limit messages do: "300
// megapixels" when it is a whole number of them, "4096×4096 pixels" when
// it is a square.
func formatPixels(n int64) string {
	switch {
	case n == 1_000_000:
		return "1 megapixel"
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%d megapixels", n/1_000_000)
	}
	if s := int64(math.Sqrt(float64(n))); s*s == n && s > 1 {
		return fmt.Sprintf("%d×%d pixels", s, s)
	}
	return fmt.Sprintf("%d pixels", n)
}

// maxSide is the largest image side whose square is at most maxDims.
func maxSide(maxDims int) int {
	s := int(math.Sqrt(float64(maxDims)))
	for s*s > maxDims {
		s--
	}
	for (s+1)*(s+1) <= maxDims {
		s++
	}
	return s
}

// imageHeader reads data's header: a PNG or JPEG of at most maxPixels
// pixels (side is what it will be resized to, for the message). msg is ""
// on success.
func imageHeader(data []byte, maxPixels, side int) (cfg image.Config, msg string) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg") {
		return cfg, "this file is not a PNG or JPEG picture, though its name says so: save it again as PNG or JPEG, or leave it out of the zip"
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return cfg, fmt.Sprintf("this picture is %d×%d pixels, more than the limit of %s: shrink it (it is made %d×%d anyway), or leave it out of the zip",
			cfg.Width, cfg.Height, formatPixels(int64(maxPixels)), side, side)
	}
	return cfg, ""
}

// errDecodePanic is what decodeImage reports when a decoder panicked.
var errDecodePanic = errors.New("the image decoder panicked")

// decodeImage decodes data, whose header imageHeader read into cfg.
func decodeImage(data []byte, cfg image.Config) (img image.Image, err error) {
	// The standard decoders are fuzzed and should not panic; if one does
	// on hostile input, refuse the image rather than take the server down.
	defer func() {
		if recover() != nil {
			img, err = nil, errDecodePanic
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("decoded %d×%d, header says %d×%d", b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	return img, nil
}

// greyScaler converts images to grey and resizes them, reusing its
// buffers.
type greyScaler struct {
	pal   [256]float32 // luma of the palette entries; indices past the palette are black
	row   []float32
	sums  []float64
	cnt   []int
	start []int // first input column of each output column, and m
}

// scale writes img's central square, resized to side×side, into dst as grey
// levels in [0, 1] (0 black, 1 white; the other way round when invert is
// set). Transparent pixels count as black.
func (g *greyScaler) scale(dst []float32, img image.Image, side int, invert bool) {
	b := img.Bounds()
	m := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-m)/2, b.Min.Y+(b.Dy()-m)/2
	g.row = slices.Grow(g.row[:0], m)[:m]
	if im, ok := img.(*image.Paletted); ok {
		g.pal = [256]float32{}
		for i, c := range im.Palette[:min(len(im.Palette), 256)] {
			g.pal[i] = float32(color.Gray16Model.Convert(c).(color.Gray16).Y) / 0xffff
		}
	}
	if m >= side {
		g.sums = slices.Grow(g.sums[:0], side*side)[:side*side]
		clear(g.sums)
		g.cnt = slices.Grow(g.cnt[:0], side)[:side]
		clear(g.cnt)
		// Input column x goes to output column x*side/m: columns
		// start[ox]..start[ox+1]-1 make output column ox.
		g.start = slices.Grow(g.start[:0], side+1)[:side+1]
		for ox := range side + 1 {
			g.start[ox] = (ox*m + side - 1) / side
		}
		for ox := range side {
			g.cnt[ox] = g.start[ox+1] - g.start[ox]
		}
		for y := range m {
			greyRow(g.row, img, &g.pal, x0, y0+y)
			out := g.sums[(y*side/m)*side:][:side]
			for ox := range out {
				out[ox] += sum32(g.row[g.start[ox]:g.start[ox+1]])
			}
		}
		for oy := range side {
			for ox := range side {
				dst[oy*side+ox] = float32(g.sums[oy*side+ox] / float64(g.cnt[oy]*g.cnt[ox]))
			}
		}
	} else {
		for oy := range side {
			greyRow(g.row, img, &g.pal, x0, y0+oy*m/side)
			for ox := range side {
				dst[oy*side+ox] = g.row[ox*m/side]
			}
		}
	}
	for i, v := range dst[:side*side] {
		v = min(max(v, 0), 1)
		if invert {
			v = 1 - v
		}
		dst[i] = v
	}
}

// sum32 adds up v, a run of at most a few hundred values in [0, 1] (so
// float32 loses nothing that matters), with four accumulators: one would
// make the adds wait on each other and cost as much as decoding.
func sum32(v []float32) float64 {
	var s0, s1, s2, s3 float32
	for len(v) >= 4 {
		s0, s1, s2, s3 = s0+v[0], s1+v[1], s2+v[2], s3+v[3]
		v = v[4:]
	}
	for _, x := range v {
		s0 += x
	}
	return float64(s0 + s1 + s2 + s3)
}

// greyRow writes the luma (ITU-R BT.601, in [0, 1]) of len(dst) pixels of
// img's row y, starting at column x0.
// pal holds the luma of each palette entry of a paletted image.
func greyRow(dst []float32, img image.Image, pal *[256]float32, x0, y int) {
	const r, gr, b = 0.299 / 255, 0.587 / 255, 0.114 / 255
	switch im := img.(type) {
	case *image.Gray:
		pix := im.Pix[im.PixOffset(x0, y):]
		for i := range dst {
			dst[i] = float32(pix[i]) / 255
		}
	case *image.YCbCr:
		pix := im.Y[im.YOffset(x0, y):]
		for i := range dst {
			dst[i] = float32(pix[i]) / 255
		}
	case *image.RGBA:
		pix := im.Pix[im.PixOffset(x0, y):]
		for i := range dst {
			p := pix[4*i : 4*i+3 : 4*i+3]
			dst[i] = float32(r*float64(p[0]) + gr*float64(p[1]) + b*float64(p[2]))
		}
	case *image.NRGBA:
		pix := im.Pix[im.PixOffset(x0, y):]
		for i := range dst {
			p := pix[4*i : 4*i+4 : 4*i+4]
			dst[i] = float32((r*float64(p[0]) + gr*float64(p[1]) + b*float64(p[2])) * float64(p[3]) * (1.0 / 255))
		}
	case *image.Paletted:
		pix := im.Pix[im.PixOffset(x0, y):]
		for i := range dst {
			dst[i] = pal[pix[i]]
		}
	case *image.Gray16:
		pix := im.Pix[im.PixOffset(x0, y):]
		for i := range dst {
			dst[i] = float32(uint16(pix[2*i])<<8|uint16(pix[2*i+1])) / 0xffff
		}
	case *image.RGBA64:
		pix := im.Pix[im.PixOffset(x0, y):]
		for i := range dst {
			p := pix[8*i : 8*i+6 : 8*i+6]
			dst[i] = float32((r*float64(uint16(p[0])<<8|uint16(p[1])) + gr*float64(uint16(p[2])<<8|uint16(p[3])) +
				b*float64(uint16(p[4])<<8|uint16(p[5]))) / 257)
		}
	case *image.NRGBA64:
		pix := im.Pix[im.PixOffset(x0, y):]
		for i := range dst {
			p := pix[8*i : 8*i+8 : 8*i+8]
			a := float64(uint16(p[6])<<8|uint16(p[7])) / 0xffff
			dst[i] = float32((r*float64(uint16(p[0])<<8|uint16(p[1])) + gr*float64(uint16(p[2])<<8|uint16(p[3])) +
				b*float64(uint16(p[4])<<8|uint16(p[5]))) / 257 * a)
		}
	case *image.CMYK:
		pix := im.Pix[im.PixOffset(x0, y):]
		for i := range dst {
			p := pix[4*i : 4*i+4 : 4*i+4]
			w := float64(255-p[3]) / 255
			dst[i] = float32((r*float64(255-p[0]) + gr*float64(255-p[1]) + b*float64(255-p[2])) * w)
		}
	default:
		for i := range dst {
			gy := color.Gray16Model.Convert(img.At(x0+i, y)).(color.Gray16).Y
			dst[i] = float32(gy) / 0xffff
		}
	}
}
