package dataset_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/contrastive-explorer/explorer/trainer/dataset"
)

// TestInspectTable guesses the roles of an iris-like table's columns and
// gives Parse the options that read it.
func TestInspectTable(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("name,sepal_length,petal_length,species,notes\n")
	for i := range 300 {
		fmt.Fprintf(&sb, "flower %d,%d.5,0.%d,%s,%s\n", i, i%7, i%10, []string{"setosa", "versicolor", "virginica"}[i%3],
			"a long remark about where this flower was picked and by whom")
	}
	head := []byte(sb.String())[:4096] // a sample ending mid-line
	tab, err := dataset.InspectTable("iris.csv", head, dataset.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]dataset.ColumnRole{
		"name": dataset.RoleID, "sepal_length": dataset.RoleFeature, "petal_length": dataset.RoleFeature,
		"species": dataset.RoleLabel, "notes": dataset.RoleText,
	}
	for _, c := range tab.Columns {
		if c.Role != want[c.Name] {
			t.Errorf("column %s: role %s, want %s", c.Name, c.Role, want[c.Name])
		}
		if c.Guessed != !c.Numeric {
			t.Errorf("column %s: guessed %v, numeric %v: only columns of words are guesses", c.Name, c.Guessed, c.Numeric)
		}
	}
	if !tab.NeedsChoice() {
		t.Error("a table with guessed roles does not ask for a choice")
	}
	if tab.Rows < 10 || tab.Columns[3].Distinct != 3 || tab.Columns[3].Examples[0] != "setosa" {
		t.Errorf("sampled %d rows, species %+v", tab.Rows, tab.Columns[3])
	}
	// Parse refuses the file as it is, and reads it with the table's options.
	if _, err := dataset.Parse("iris.csv", strings.NewReader(sb.String()), dataset.ParseOptions{}); err == nil {
		t.Error("the table parses without options; the test needs one that does not")
	}
	ds, err := dataset.Parse("iris.csv", strings.NewReader(sb.String()), tab.Options(dataset.ParseOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Dim != 2 || len(ds.ClassNames) != 3 || ds.Len() != 300 {
		t.Errorf("dim %d, %d classes, %d items; want 2, 3, 300", ds.Dim, len(ds.ClassNames), ds.Len())
	}
}

// TestInspectTableDecimalComma notices decimal commas a separator does not
// imply, and a plain table needs no choice.
func TestInspectTableDecimalComma(t *testing.T) {
	tab, err := dataset.InspectTable("m.csv", []byte("a|b|label\n1,5|2|x\n3|4,25|y\n"), dataset.ParseOptions{Delimiter: '|'})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Delimiter != '|' || !tab.DecimalComma || !tab.Columns[0].Numeric || !tab.NeedsChoice() {
		t.Errorf("got %+v, want | with decimal commas in numeric columns", tab)
	}
	tab, err = dataset.InspectTable("m.csv", []byte("a;b;label\n1,5;2;x\n3;4,25;y\n"), dataset.ParseOptions{})
	if err != nil || tab.DecimalComma || tab.NeedsChoice() {
		t.Errorf("semicolons imply decimal commas: got %+v, %v", tab, err)
	}
	for _, bad := range []string{"", "1,2,3\n4,5,6\n"} {
		if _, err := dataset.InspectTable("m.csv", []byte(bad), dataset.ParseOptions{}); err == nil {
			t.Errorf("InspectTable(%q) = nil error, want a header problem", bad)
		}
	}
}

// FuzzInspectTable checks InspectTable's contract on any bytes: a
// *ParseError, or a table whose options Parse takes for the same bytes
// without a complaint about the options themselves.
func FuzzInspectTable(f *testing.F) {
	f.Add([]byte("name,x,species\na,1,s\nb,2,t\n"))
	f.Add([]byte("a|b|label\n1,5|2|x\n"))
	f.Add([]byte("\"q,\"\"x\",y\n\"1\n2\",3\n"))
	f.Add([]byte("x;y\n1,5;2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := dataset.InspectTable("f.csv", data, dataset.ParseOptions{Limits: fuzzLimits})
		if err != nil {
			var pe *dataset.ParseError
			if !errors.As(err, &pe) || pe.Msg == "" {
				t.Fatalf("error %v (%T) is not a *ParseError with a message", err, err)
			}
			return
		}
		if tab.Rows > len(data) || len(tab.Columns) == 0 {
			t.Fatalf("table %+v from %d bytes", tab, len(data))
		}
		for _, c := range tab.Columns {
			if c.Role == "" || len(c.Examples) > 3 || c.Distinct > tab.Rows {
				t.Fatalf("column %+v", c)
			}
			for _, e := range c.Examples {
				if len(e) > 40+len("…") || !utf8.ValidString(e) {
					t.Fatalf("example %q", e)
				}
			}
		}
		opts := tab.Options(dataset.ParseOptions{Limits: fuzzLimits, Format: dataset.FormatCSV})
		fuzzParse(t, "f.csv", data, dataset.FormatCSV, opts)
	})
}

// TestInspectTableMissingColumn refuses an option naming a column the
// header does not have, as Parse does.
func TestInspectTableMissingColumn(t *testing.T) {
	_, err := dataset.InspectTable("m.csv", []byte("a,b\n1,2\n"), dataset.ParseOptions{LabelColumn: "species"})
	var pe *dataset.ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, `"species"`) {
		t.Errorf("InspectTable with a missing label column: %v", err)
	}
}
