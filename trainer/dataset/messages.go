package dataset

import "fmt"

// The messages of ParseError that several parsers share. Each says what is
// wrong in a person's words, then after a colon what to do; the fix names
// an upload option of the web page (Label column, Text column, Name
// column, Ignore, Separator, Decimal comma, Scaling, Image side, Invert)
// where choosing one is the fix, never an API field.

// MsgFormats lists, as the fix of a refusal, the kinds of file the
// explorer reads.
const MsgFormats = "upload a CSV or TSV table, a text file with one item per line, " +
	"a zip of pictures in one folder per class, a user,item table of interactions, or Embedding Projector vectors"

const (
	msgEmpty      = "the file is empty: check that you chose the right file and that your data was saved in it"
	msgReadFailed = "the file could not be read to its end: upload it again"
	// msgInconsistent is a parser's bug, reported as bad input rather
	// than handing over a broken dataset.
	msgInconsistent          = "the explorer could not make a dataset of this file, though it found nothing wrong in it: please report the problem, with the file"
	msgDecimalCommaSeparator = "a comma cannot both separate the columns and mark decimals: in the upload options, choose another Separator (semicolon, tab or |) or turn off Decimal comma"
	msgCellUTF8              = "this cell is not UTF-8 text: save the file with the UTF-8 encoding (in Excel, as CSV UTF-8) and upload it again"
	msgLineUTF8              = "this line is not UTF-8 text: save the file with the UTF-8 encoding and upload it again"
	msgNoWords               = "this text has no letters or digits: write some words in it, or delete it"
)

// roleOption names the upload option that gives a column a role.
func roleOption(role string) string {
	switch role {
	case "label":
		return "Label column"
	case "text":
		return "Text column"
	case "id":
		return "Name column"
	}
	return role
}

// TooLargeMsg is the message for a file of format f over the size limit
// of limit bytes, with what to do about it (f may be FormatUnknown).
func TooLargeMsg(f Format, limit int64) string {
	fix := "upload a smaller file"
	switch f {
	case FormatImages:
		fix = "upload fewer pictures, or smaller ones"
	case FormatProjector:
		fix = "upload fewer vectors, or vectors of fewer numbers"
	case FormatCSV, FormatInteractions:
		fix = "upload a smaller file, such as a sample of its rows"
	case FormatText:
		fix = "upload a smaller file, such as a sample of its lines"
	}
	return fmt.Sprintf("the file is larger than the limit of %s: %s", FormatSize(limit), fix)
}

func (p *parser) tooBigMsg() string { return TooLargeMsg(p.format, p.lim.MaxBytes) }

// budgetMsg refuses a dataset over MaxDatasetBytes.
func (p *parser) budgetMsg() string {
	fix := "upload less data"
	switch p.format {
	case FormatCSV:
		fix = "upload fewer rows, or Ignore some columns in the upload options"
	case FormatText:
		fix = "upload fewer or shorter texts"
	case FormatImages:
		fix = "upload fewer pictures, or choose a smaller Image side in the upload options"
	case FormatInteractions:
		fix = "upload fewer rows"
	case FormatProjector:
		fix = "upload fewer vectors, or vectors of fewer numbers"
	}
	return fmt.Sprintf("this data would take more than %s of memory once read, more than one upload may: %s",
		FormatSize(p.lim.MaxDatasetBytes), fix)
}

// items names the items of the parser's format: singular, plural, and
// what to add when there are too few.
func (p *parser) items() (one, many, add string) {
	switch p.format {
	case FormatCSV:
		return "row of data", "rows of data", "rows"
	case FormatText:
		return "line of text", "lines of text", "lines"
	case FormatImages:
		return "picture", "pictures", "pictures"
	case FormatInteractions:
		return "different item", "different items", "rows with other items"
	case FormatProjector:
		return "vector", "vectors", "vectors"
	}
	return "item", "items", "items"
}

// tooFewMsg refuses n items, fewer than MinItems.
func (p *parser) tooFewMsg(n int) string {
	one, many, add := p.items()
	what := fmt.Sprintf("only %d %s", n, many)
	switch n {
	case 0:
		what = "there are no " + many
	case 1:
		what = "only 1 " + one
	}
	return fmt.Sprintf("%s: add %s until there are at least %d", what, add, MinItems)
}

// tooManyMsg refuses more than MaxItems items.
func (p *parser) tooManyMsg() string {
	_, many, add := p.items()
	fix := fmt.Sprintf("upload at most %d %s", p.lim.MaxItems, add)
	switch p.format {
	case FormatCSV, FormatText:
		fix = fmt.Sprintf("upload a sample of at most %d %s", p.lim.MaxItems, add)
	case FormatInteractions:
		fix = fmt.Sprintf("upload the interactions of at most %d items", p.lim.MaxItems)
	}
	return fmt.Sprintf("more than %d %s, the most the explorer takes: %s", p.lim.MaxItems, many, fix)
}

// tooManyLabelsMsg refuses more than max classes; column names the label
// column of a table ("" for other formats).
func (p *parser) tooManyLabelsMsg(max int, column string) string {
	switch {
	case p.format == FormatImages:
		return fmt.Sprintf("more than %d folders of pictures, the most the explorer takes (each folder is a class): put the pictures in at most %d folders", max, max)
	case p.format == FormatText:
		return fmt.Sprintf("more than %d different labels before the tabs, the most the explorer takes: use at most %d labels, or none", max, max)
	case column != "":
		return fmt.Sprintf("more than %d different labels in column %s, the most the explorer takes: merge classes until there are at most %d, or choose another Label column in the upload options", max, quote(column), max)
	}
	return fmt.Sprintf("more than %d different labels, the most the explorer takes: merge classes until there are at most %d", max, max)
}

// lineTooLongMsg refuses a line over MaxLineBytes.
func lineTooLongMsg(max int) string {
	return fmt.Sprintf("this line is longer than %s: put each item on a line of its own", FormatSize(int64(max)))
}
