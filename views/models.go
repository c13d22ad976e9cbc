// Package views renders the explorer's HTML pages from view models. It knows
// nothing of training, projection or HTTP: package web fills the models and
// writes the result. The data-testid attributes are the page contract of
// docs/protocol.md, which the browser scripts in static/ rely on.
package views

import "strconv"

// Generate from the module root, as CI's `go tool templ generate -check`
// does: the generated code records template paths relative to it.
//
//go:generate go tool templ generate -path ..

// HomePage is the start page: pick a dataset, a loss, a pair source and the
// hyperparameters, then train.
type HomePage struct {
	Datasets    []DatasetCard // bundled, then this browser's uploads
	Uploads     []DatasetCard // this browser's uploads, oldest first
	UploadLimit string        // the largest file accepted, e.g. "50 MB"
	Losses      []Choice
	Pairs       []Choice
	Groups      []FieldGroup // hyperparameters, in display order
	// Teacher makes it the teacher's page (/teach): the same form, with a
	// hide and a lock box on every control and the exercise's link.
	Teacher bool
}

// DatasetCard describes one dataset on the home page.
type DatasetCard struct {
	Name        string // form value
	Title       string
	Description string
	Kind        string // e.g. "images"
	Items       int
	Train       int
	Test        int
	Classes     int
	Size        string // e.g. "8×8 pixels", "" when not images
	Source      string
	License     string
	PreviewURL  string // thumbnail image; "" for none
	Checked     bool
	Uploaded    bool // uploaded by this browser
	Synthetic   bool // made-up data, labelled as such
	Precomputed bool // finished embeddings, shown without training
	// Defaults is the JSON object of the settings this dataset's defaults
	// change ({"pairs","epochs","lr","schedule","temperature"}, as form
	// values): choosing the dataset sets them.
	Defaults string
	// Unusable is the JSON object of the pair sources this dataset cannot
	// make, each with the reason, for the form to disable them.
	Unusable string
}

// Choice is one radio option with a short explanation for a learner.
type Choice struct {
	Value       string
	Title       string
	Tag         string // a word or two beside the title: "supervised"
	Explanation string
	Checked     bool
}

// FieldGroup is a fieldset of hyperparameters.
type FieldGroup struct {
	Legend string
	Help   string
	Fields []Field
}

// Field kinds.
const (
	FieldNumber = "number"
	FieldText   = "text"
	FieldSelect = "select"
)

// Field is one form input. Min, Max, Step, Pattern and Placeholder are the
// HTML attributes of the same names, left out when empty.
type Field struct {
	Name        string // form name and config key
	Label       string
	Help        string // one sentence for a learner
	Kind        string // FieldNumber, FieldText or FieldSelect
	Value       string // default value
	Min         string
	Max         string
	Step        string
	Pattern     string
	Placeholder string
	Options     []Option // FieldSelect only
}

// Option is one entry of a select field.
type Option struct {
	Value    string
	Label    string
	Selected bool
}

// RunPage is the explorer shell for one run; the browser fills it from the
// websocket.
type RunPage struct {
	ID            string
	Title         string // e.g. "Handwritten digits (UCI) · supcon"
	WSURL         string
	Items         int // items in the dataset, points in the scatter
	Epochs        int // configured epochs
	State         string
	QueuePosition int // 1-based place in the queue; 0 when not queued
	Method        string
	Dims          int
	Config        []ConfigItem
	LossTitle     string // the loss's name, e.g. "Triplet"
	LossNote      string // what to watch for with this loss; "" for none
	Projector     bool   // the projector layout: large type, the map first
	Exports       []ExportLink
	// Compare offers a second run to compare with (the other runs on the
	// dataset, or one trained with one change): nil for a run of finished
	// embeddings, which has no training to compare.
	Compare *CompareMenu
}

// CompareMenu is the run page's Compare menu: the choices of the form that
// trains a second run with one change, this run's own selected.
type CompareMenu struct {
	Losses      []Option
	Pairs       []Option
	Temperature string // this run's, "" for the loss's default
	Margin      string
}

// ExportLink is one entry of the run page's export menu.
type ExportLink struct {
	Format   string // the export's name, e.g. "coords.csv"
	Title    string
	PerEpoch bool // of the epoch on the map (the page adds it)
}

// ConfigItem is one row of a run's configuration summary.
type ConfigItem struct {
	Label string
	Value string
}

// ErrorPage is shown for an unknown page or run, or a server error.
type ErrorPage struct {
	Status  int
	Title   string
	Message string
}

// errorTestID is "not-found" for a 404 page (the page contract's name) and
// "error-page" otherwise.
func errorTestID(status int) string {
	if status == 404 {
		return "not-found"
	}
	return "error-page"
}

// Ordinal returns n as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 21st.
func Ordinal(n int) string {
	suffix := "th"
	switch n % 100 {
	case 11, 12, 13:
	default:
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// RunsPage lists a browser session's runs: those it started and those
// whose link it opened, newest first.
type RunsPage struct {
	Runs []RunRow
}

// RunRow is one run of the runs page.
type RunRow struct {
	ID      string
	Name    string // the owner's name for it, "" for none
	Dataset string // the dataset's title
	// DatasetID is the dataset's id: only runs on the same one compare.
	DatasetID string
	Loss      string
	State     string
	Epoch     int
	Epochs    int
	KNN       string // the newest epoch's kNN accuracy, "" when not measured
	Created   string // e.g. "2 Dec 2026 16:40"
	Owner     bool   // this session started it (the browser may hold its token)
	Shared    bool   // listed because this session opened its link
}

// ComparePage is two runs on the same dataset side by side (/compare/A/B):
// the script fills the maps, timeline, curves and figures from both runs'
// websockets.
type ComparePage struct {
	Title   string // e.g. "Handwritten digits (UCI): supcon vs triplet"
	Dataset string // the dataset's title
	Method  string // the projection both maps start in: the first run's
	Dims    int
	Runs    [2]CompareRun
	SwapURL string // the same comparison the other way round
}

// CompareRun is one side of a comparison.
type CompareRun struct {
	Key    string // "a" or "b", for test ids and colours
	ID     string
	Label  string // what sets it apart, e.g. "supcon · labels · temperature 0.1"
	URL    string // its run page
	State  string
	Epochs int // configured
}

// CompareFigure is a row of the comparison's table of final figures.
type CompareFigure struct {
	Key   string // the metric's key in the script, e.g. "knn"
	Label string
	Help  string
}
