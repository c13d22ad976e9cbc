package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run"
	"github.com/contrastive-explorer/explorer/run/datasets"
	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// This file is the upload endpoint, POST /api/datasets (docs/protocol.md,
// "Uploads and sessions"). The file streams from the multipart body into
// dataset.Parse, which validates as it reads, so a bad file is refused at
// its first problem and nothing beyond the size limit is ever held.

// optionBytes bounds the value of one option field.
const optionBytes = 1024

// multipartSlack is what the request body may hold besides the file and
// the metadata: boundaries, part headers and option fields.
const multipartSlack = 1 << 20

// sniffBytes is how much of a file the handler looks at to tell its format,
// as dataset.Parse does.
const sniffBytes = 4096

// upload is one POST /api/datasets on its way: its options and the files
// seen so far. Spool files are removed by cleanup.
type upload struct {
	s    *Server
	opts dataset.ParseOptions

	fileSeen bool
	fileName string
	format   dataset.Format
	ds       *dataset.Dataset // parsed, once the file has been read
	pending  *os.File         // projector vectors waiting for their metadata
	meta     *os.File         // the spooled metadata part
	metaName string
	kept     *os.File // the file as it was parsed (not projector vectors: pending is)
	spools   []*os.File
}

// stored returns how to parse the upload again from its spool files.
func (u *upload) stored() datasets.Upload {
	opts := u.opts
	opts.Format, opts.Limits = u.format, dataset.Limits{}
	opts.Metadata, opts.MetadataName, opts.Context = nil, u.metaName, nil
	up := datasets.Upload{Options: opts}
	switch {
	case u.pending != nil:
		up.File = u.pending.Name()
	case u.kept != nil:
		up.File = u.kept.Name()
	}
	if u.meta != nil {
		up.Metadata = u.meta.Name()
	}
	return up
}

func (s *Server) uploadDataset(c *echo.Context) error {
	if s.ctx.Err() != nil {
		return errShuttingDown
	}
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		// Only API clients get here: the page sends FormData.
		return run.Errorf(run.Unsupported, "", "send the dataset as multipart/form-data, with the file in a part named file (as a browser's FormData does)")
	}
	lim := s.limits
	bodyMax := 2*lim.MaxBytes + multipartSlack
	if req.ContentLength > bodyMax {
		return tooLarge("", "the upload is larger than the limit of %s: upload a smaller file, "+
			"such as a sample of its rows, or fewer or smaller pictures", dataset.FormatSize(lim.MaxBytes))
	}
	sess := session(c)
	if err := s.datasets.Reserve(sess); err != nil {
		return err
	}
	reserved := true
	defer func() {
		if reserved {
			s.datasets.Cancel(sess)
		}
	}()
	// Parsing is heavy (images are decoded and resized): a few at a time.
	select {
	case s.parseSlots <- struct{}{}:
		defer func() { <-s.parseSlots }()
	case <-req.Context().Done():
		return req.Context().Err()
	case <-s.ctx.Done():
		return errShuttingDown
	}

	body := &bodyReader{r: http.MaxBytesReader(c.Response(), req.Body, bodyMax)}
	mr := multipart.NewReader(body, boundary(req))
	// Parsing stops when the client goes away or the server stops.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	u := &upload{s: s, opts: dataset.ParseOptions{Limits: lim, Context: ctx}}
	defer u.cleanup()
	err = u.read(mr)
	if body.slow {
		// Before the context: a read that timed out ends the request's.
		return errUploadTooSlow
	}
	if ctx.Err() != nil {
		if s.ctx.Err() != nil {
			return errShuttingDown
		}
		return errUploadCancelled
	}
	if body.over {
		return u.bodyTooLarge()
	}
	if err != nil {
		return err
	}
	for _, f := range u.spools {
		// Closed before they are moved into the upload's folder.
		f.Close()
	}
	e, err := s.datasets.Add(sess, u.fileName, u.format, u.ds, u.stored())
	reserved = false
	if err != nil {
		return err
	}
	s.log.Info("dataset uploaded", "id", e.ID, "format", e.Format, "items", e.Info.Items, "dim", e.Info.Dim, "bytes", e.Bytes)
	return c.JSON(http.StatusCreated, entryJSON(e))
}

// boundary returns the multipart boundary of req ("" if it has none, which
// the multipart reader reports as bad input).
func boundary(req *http.Request) string {
	_, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	return params["boundary"]
}

// read walks the parts of the body: options, then the file (parsed as it
// streams in), the metadata before or after it.
func (u *upload) read(mr *multipart.Reader) error {
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Only API clients get here; the multipart reader's words
			// would tell them little more.
			return badInput("", "the request is not valid multipart/form-data: send the file as a browser's FormData does")
		}
		if err := u.part(part); err != nil {
			// No Close: it would read the rest of the part, up to the body
			// limit, to refuse what is already refused.
			return err
		}
		part.Close()
	}
	if !u.fileSeen {
		return badInput("file", "no file came with the upload: choose a file and upload it again")
	}
	if u.pending != nil {
		return u.parse(u.pending)
	}
	return nil
}

// part handles one part of the body.
func (u *upload) part(p *multipart.Part) error {
	name := p.FormName()
	switch name {
	case "file":
		if u.fileSeen {
			// The page sends one file; only API clients get here.
			return badInput("file", "two files came in one upload (%s and %s): upload one file at a time", u.fileName, uploadName(p.FileName()))
		}
		u.fileSeen = true
		return u.file(p)
	case "metadata":
		return u.metadata(p)
	case "format", "label_column", "text_column", "id_column", "ignore_columns", "decimal_comma", "scale", "side", "invert", "delimiter":
		if u.fileSeen {
			// The page sends its options first; only API clients get here.
			return badInput(name, "send the option %s before the file: the file is read as it arrives, with the options already known", name)
		}
		v, err := io.ReadAll(io.LimitReader(p, optionBytes+1))
		if err != nil {
			return badInput(name, "the %s option could not be read: upload the file again", optionLabel(name))
		}
		if len(v) > optionBytes {
			return badInput(name, "the %s option is longer than %d bytes, the most it takes: choose a shorter one", optionLabel(name), optionBytes)
		}
		return u.option(name, strings.TrimSpace(string(v)))
	case "":
		return badInput("", "a part of the upload has no name: name each part file, metadata or one of the options")
	}
	return badInput(name, "the upload takes no part named %q: send file, metadata and the options listed in docs/protocol.md", clipName(name))
}

// optionLabel names an option field as the page's upload options do.
func optionLabel(field string) string {
	switch field {
	case "label_column":
		return "Label column"
	case "text_column":
		return "Text column"
	case "id_column":
		return "Name column"
	case "ignore_columns":
		return "Ignore"
	case "decimal_comma":
		return "Decimal comma"
	case "scale":
		return "Scaling"
	case "side":
		return "Image side"
	case "invert":
		return "Invert"
	case "delimiter":
		return "Separator"
	}
	return field
}

// option applies one option field.
func (u *upload) option(name, v string) error {
	o := &u.opts
	switch name {
	case "format":
		switch f := dataset.Format(strings.ToLower(v)); f {
		case dataset.FormatUnknown, dataset.FormatCSV, dataset.FormatImages, dataset.FormatText,
			dataset.FormatInteractions, dataset.FormatProjector:
			o.Format = f
		default:
			// The page has no format option: only API clients get here.
			return badInput(name, "unknown format %q: send csv, images, text, interactions or projector, or leave it out", clipName(v))
		}
	case "label_column":
		o.LabelColumn = v
	case "text_column":
		o.TextColumn = v
	case "id_column":
		o.IDColumn = v
	case "ignore_columns":
		o.IgnoreColumns = nil
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				o.IgnoreColumns = append(o.IgnoreColumns, c)
			}
		}
	case "decimal_comma":
		b, ok := parseBool(v)
		if !ok {
			return badBool(name, v)
		}
		o.DecimalComma = b
	case "scale":
		switch strings.ToLower(v) {
		case "", "none":
			o.Scale = dataset.ScaleNone
		case "standard":
			o.Scale = dataset.ScaleStandard
		case "minmax":
			o.Scale = dataset.ScaleMinMax
		default:
			return badInput(name, "%q is not a Scaling the explorer knows: choose none, standard or minmax in the upload options", clipName(v))
		}
	case "side":
		if v == "" {
			o.Side = 0
			break
		}
		side, err := strconv.Atoi(v)
		if err != nil || side < 4 || side > 64 {
			return badInput(name, "the Image side must be a whole number from 4 to 64, not %q: choose one in the upload options", clipName(v))
		}
		if max := u.s.limits.MaxDims; side*side > max {
			most := 4
			for (most+1)*(most+1) <= max {
				most++
			}
			return badInput(name, "an Image side of %d gives pictures of %d values, more than the limit of %d: "+
				"choose an Image side of at most %d in the upload options", side, side*side, max, most)
		}
		o.Side = side
	case "invert":
		b, ok := parseBool(v)
		if !ok {
			return badBool(name, v)
		}
		o.Invert = b
	case "delimiter":
		switch v {
		case "":
			o.Delimiter = 0
		case ",", ";", "|":
			o.Delimiter = rune(v[0])
		case `\t`, "tab", "TAB", "\t":
			o.Delimiter = '\t'
		default:
			return badInput(name, "%q cannot be the Separator: choose comma, semicolon, tab or | in the upload options", clipName(v))
		}
	}
	return nil
}

// badBool refuses a value of a yes-or-no option. The page sends
// checkboxes, so only API clients get here.
func badBool(name, v string) error {
	return badInput(name, "%q is not a value of the %s option: send true or false", clipName(v), optionLabel(name))
}

// parseBool reads a form's true or false.
func parseBool(v string) (b, ok bool) {
	switch strings.ToLower(v) {
	case "", "false", "0", "off", "no":
		return false, true
	case "true", "1", "on", "yes":
		return true, true
	}
	return false, false
}

// file reads the file part: the format is told from its name and first
// bytes; projector vectors without their metadata yet wait in a spool file,
// anything else is parsed as it streams in.
func (u *upload) file(p *multipart.Part) error {
	u.fileName = uploadName(p.FileName())
	lim := u.s.limits.MaxBytes
	cr := &capReader{r: p, max: lim}
	br := bufio.NewReaderSize(cr, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return u.readError(err)
	}
	u.format = u.opts.Format
	if u.format == dataset.FormatUnknown {
		u.format = dataset.Detect(u.fileName, head)
		if u.format == dataset.FormatUnknown && len(strings.TrimSpace(string(head))) > 0 {
			return unreadable(u.fileName)
		}
	}
	if u.format == dataset.FormatProjector && u.meta == nil {
		f, err := u.spool(br, "file")
		if err != nil {
			return err
		}
		u.pending = f
		return nil
	}
	if u.meta != nil && u.format != dataset.FormatProjector {
		return u.strayMetadata()
	}
	// The file is kept, to be parsed again after a restart: it streams
	// to disk as it is parsed.
	keep, err := u.newSpool()
	if err != nil {
		return err
	}
	u.kept = keep
	tee := io.TeeReader(br, keep)
	err = u.parseFrom(tee)
	if err == nil {
		// Parse may stop before the end (a trailing blank line): the kept
		// file must be whole all the same.
		if _, err = io.Copy(io.Discard, tee); err != nil {
			err = u.readError(err)
		}
	}
	if cr.over() {
		return tooLarge("file", "%s: %s", u.fileName, dataset.TooLargeMsg(u.format, lim))
	}
	return err
}

// metadata spools the metadata part, which Parse reads after the vectors.
func (u *upload) metadata(p *multipart.Part) error {
	if u.meta != nil {
		// The page sends one; only API clients get here.
		return badInput("metadata", "two metadata files came in one upload (%s and %s): send one", u.metaName, uploadName(p.FileName()))
	}
	u.metaName = uploadName(p.FileName())
	if u.fileSeen && u.pending == nil {
		return u.strayMetadata()
	}
	f, err := u.spool(p, "metadata")
	if err != nil {
		return err
	}
	u.meta = f
	return nil
}

func (u *upload) strayMetadata() error {
	return badInput("metadata", "%s is a metadata file, which goes with Embedding Projector vectors (vectors.tsv) only, and %s is not one: upload %s without it",
		u.metaName, u.fileName, u.fileName)
}

// parse parses the spooled projector vectors.
func (u *upload) parse(f *os.File) error {
	return u.parseFrom(bufio.NewReader(f))
}

// parseFrom runs dataset.Parse on the file, with the metadata if there is
// one. Bad input becomes a 400 naming the file (or the metadata) at fault.
func (u *upload) parseFrom(r io.Reader) error {
	opts := u.opts
	opts.Format = u.format
	if u.meta != nil {
		if _, err := u.meta.Seek(0, io.SeekStart); err != nil {
			return err
		}
		opts.Metadata, opts.MetadataName = u.meta, u.metaName
	}
	ds, err := dataset.Parse(u.fileName, r, opts)
	var pe *dataset.ParseError
	if errors.As(err, &pe) {
		field := "file"
		if u.meta != nil && pe.File == u.metaName && pe.File != u.fileName {
			field = "metadata"
		}
		if cause := pe.Unwrap(); cause != nil {
			// The learner gets the words; the log keeps what went wrong.
			u.s.log.Info("upload refused", "file", pe.File, "err", cause)
		}
		return badInput(field, "%s", pe.Human())
	}
	if err != nil {
		return err
	}
	u.ds = ds
	return nil
}

// newSpool creates a spool file in the uploads folder, removed by cleanup
// unless the upload keeps it. A restart removes those a crash left.
func (u *upload) newSpool() (*os.File, error) {
	dir := u.s.dataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("upload folder: %w", err)
	}
	f, err := os.CreateTemp(dir, "upload-*.part")
	if err != nil {
		return nil, fmt.Errorf("spooling an upload: %w", err)
	}
	u.spools = append(u.spools, f)
	return f, nil
}

// spool copies a part into a spool file, at most the upload limit.
func (u *upload) spool(r io.Reader, field string) (*os.File, error) {
	f, err := u.newSpool()
	if err != nil {
		return nil, err
	}
	lim := u.s.limits.MaxBytes
	n, err := io.Copy(f, io.LimitReader(r, lim+1))
	if err != nil {
		return nil, u.readError(err)
	}
	if n > lim {
		if field == "metadata" {
			return nil, tooLarge(field, "%s: the file is larger than the limit of %s: upload less metadata, such as fewer or shorter columns",
				u.metaName, dataset.FormatSize(lim))
		}
		return nil, tooLarge(field, "%s: %s", u.fileName, dataset.TooLargeMsg(u.format, lim))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return f, nil
}

// readError reports a failure to read the body: too large, or cut off.
func (u *upload) readError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return u.bodyTooLarge()
	}
	if errors.Is(err, errTooSlow) {
		return errUploadTooSlow
	}
	u.s.log.Info("upload cut off", "file", u.fileName, "err", err)
	return badInput("file", "the upload of %s was cut off before its end: upload it again", u.fileName)
}

// bodyTooLarge refuses a request body over its limit, naming the file
// when it is known.
func (u *upload) bodyTooLarge() error {
	lim := u.s.limits.MaxBytes
	if u.fileName == "" {
		return tooLarge("", "the upload is larger than the limit of %s: upload a smaller file, "+
			"such as a sample of its rows, or fewer or smaller pictures", dataset.FormatSize(lim))
	}
	return tooLarge("", "%s: %s", u.fileName, dataset.TooLargeMsg(u.format, lim))
}

// cleanup closes and removes the spool files.
func (u *upload) cleanup() {
	for _, f := range u.spools {
		f.Close()
		if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
			u.s.log.Warn("removing an upload spool file", "err", err)
		}
	}
}

// deleteDataset forgets one of the session's uploads, with the runs the
// session trained on it: they cannot be shown without their data, and the
// memory the upload holds is given back only once nothing uses it.
func (s *Server) deleteDataset(c *echo.Context) error {
	sess, id := session(c), c.Param("name")
	ctx := c.Request().Context()
	if s.datasets.Owns(sess, id) {
		entries, err := s.runs.List(ctx, sess, 0)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Shared || e.Config.Dataset != id {
				continue
			}
			r, err := s.runs.Get(ctx, e.ID)
			if err == nil {
				err = s.runs.Delete(ctx, r)
			}
			if err != nil && run.ErrorCode(err) != run.NotFound {
				return err
			}
		}
	}
	if err := s.datasets.Remove(sess, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// errUploadCancelled answers an upload whose client went away while it
// was parsed (nobody reads the answer, but the log says what happened).
var errUploadCancelled = run.Errorf(run.Invalid, "file", "the upload was cancelled: upload the file again")

// errUploadTooSlow answers an upload whose body came slower than the
// minimum rate.
var errUploadTooSlow = &statusError{code: http.StatusRequestTimeout, field: "file",
	msg: "the upload came too slowly and was cut off; try again on a faster connection"}

// tooLarge is a 413 with a message for the learner.
func tooLarge(field, format string, args ...any) error {
	return run.Errorf(run.TooLarge, field, format, args...)
}

// uploadName is the base name of an uploaded file, whatever separator the
// browser used; "upload" when it sent none.
func uploadName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, "\uFFFD"))
	if name == "" {
		return "upload"
	}
	return clipName(name)
}

// clipName shortens a name from the client for messages.
func clipName(s string) string {
	if r := []rune(s); len(r) > 100 {
		return string(r[:100]) + "…"
	}
	return s
}

// capReader counts what is read through it; over reports whether more than
// max bytes came, which dataset.Parse reads to tell a file at the limit
// from a longer one.
type capReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *capReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func (c *capReader) over() bool { return c.n > c.max }

// bodyReader notes whether the request body went over its limit or came
// too slowly, however far up the error was wrapped or swallowed.
type bodyReader struct {
	r    io.Reader
	over bool
	slow bool // it came slower than the minimum rate
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		b.over = true
	}
	if errors.Is(err, errTooSlow) {
		b.slow = true
	}
	return n, err
}

// inspectBytes is how much of a file POST /api/datasets/inspect looks at.
const inspectBytes = 64 << 10

// inspectJSON is the answer of POST /api/datasets/inspect.
type inspectJSON struct {
	Format       dataset.Format `json:"format"`
	Delimiter    string         `json:"delimiter,omitempty"`
	DecimalComma bool           `json:"decimal_comma,omitempty"`
	Rows         int            `json:"rows,omitempty"`
	Columns      []columnJSON   `json:"columns,omitempty"`
	NeedsChoice  bool           `json:"needs_choice"`
}

type columnJSON struct {
	Name     string             `json:"name"`
	Role     dataset.ColumnRole `json:"role"`
	Guessed  bool               `json:"guessed,omitempty"`
	Numeric  bool               `json:"numeric"`
	Distinct int                `json:"distinct"`
	Examples []string           `json:"examples"`
}

// inspectUpload answers POST /api/datasets/inspect?name=FILE: from the
// file's first 64 KiB (the body), its format and, for a table, its
// columns with the role each would have and a guess for the rest, so the
// page can ask before uploading what only a person can decide. The
// query takes the upload's options (delimiter, decimal_comma and the
// column choices).
func (s *Server) inspectUpload(c *echo.Context) error {
	req := c.Request()
	name := uploadName(c.QueryParam("name"))
	head, err := io.ReadAll(io.LimitReader(req.Body, inspectBytes))
	if err != nil {
		return badInput("file", "the start of %s could not be read: choose the file again", name)
	}
	u := &upload{s: s}
	for _, o := range []string{"format", "label_column", "text_column", "id_column", "ignore_columns", "decimal_comma", "delimiter"} {
		if v := c.QueryParam(o); v != "" {
			if err := u.option(o, strings.TrimSpace(clipName(v))); err != nil {
				return err
			}
		}
	}
	format := u.opts.Format
	if format == dataset.FormatUnknown {
		format = dataset.Detect(name, head)
	}
	if format == dataset.FormatUnknown {
		return unreadable(name)
	}
	ans := inspectJSON{Format: format}
	if format != dataset.FormatCSV {
		return c.JSON(http.StatusOK, ans)
	}
	opts := u.opts
	opts.Limits = s.limits
	tab, err := dataset.InspectTable(name, head, opts)
	var pe *dataset.ParseError
	if errors.As(err, &pe) {
		return badInput("file", "%s", pe.Human())
	} else if err != nil {
		return err
	}
	ans.Delimiter, ans.DecimalComma, ans.Rows, ans.NeedsChoice = string(tab.Delimiter), tab.DecimalComma, tab.Rows, tab.NeedsChoice()
	for _, col := range tab.Columns {
		ans.Columns = append(ans.Columns, columnJSON{Name: col.Name, Role: col.Role, Guessed: col.Guessed, Numeric: col.Numeric, Distinct: col.Distinct, Examples: col.Examples})
	}
	return c.JSON(http.StatusOK, ans)
}

// unreadable is the refusal of a file of a type the explorer cannot read,
// with what to do instead.
func unreadable(name string) error {
	switch strings.ToLower(path.Ext(name)) {
	case ".xlsx", ".xls", ".ods", ".numbers":
		return run.Errorf(run.Unsupported, "file", "%s is a spreadsheet workbook, which the explorer cannot read: save the sheet as CSV (in Excel, File › Save a Copy › CSV) and upload the .csv file", name)
	case ".png", ".jpg", ".jpeg", ".gif", ".webp":
		return run.Errorf(run.Unsupported, "file", "%s is a single picture: put your pictures in a zip, one folder per class (cats/1.png, dogs/2.png …), and upload the zip", name)
	case ".gz", ".tgz", ".tar", ".rar", ".7z", ".bz2", ".xz":
		return run.Errorf(run.Unsupported, "file", "%s is a packed archive the explorer cannot open: unpack it and upload the table or text file inside, or zip your pictures as a .zip", name)
	}
	return run.Errorf(run.Unsupported, "file", "the explorer cannot read %s: %s", name, dataset.MsgFormats)
}
