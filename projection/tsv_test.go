package projection

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestReadVectors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n, d     int
		wantErr  error
		errText  string
	}{
		{name: "plain", in: "1\t2\t3\n4\t5\t6\n", n: 2, d: 3},
		{name: "CRLF, blank lines, no final newline", in: "1\t2\r\n\r\n3\t4", n: 2, d: 2},
		{name: "ragged", in: "1\t2\n3\n", errText: "line 2 has 1 values", wantErr: ErrShape},
		{name: "NaN", in: "1\tNaN\n", wantErr: ErrNotFinite},
		{name: "Inf", in: "1\t+Inf\n", wantErr: ErrNotFinite},
		{name: "header", in: "x\ty\n1\t2\n", errText: "line 1 column 1"},
		{name: "empty", in: "\n\n", wantErr: ErrTooFewPoints},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, n, d, err := ReadVectors(strings.NewReader(tc.in))
			if tc.wantErr != nil || tc.errText != "" {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("error %v, want %v containing %q", err, tc.wantErr, tc.errText)
				}
				return
			}
			if err != nil || n != tc.n || d != tc.d || len(x) != n*d {
				t.Fatalf("got %d×%d (%d values), %v", n, d, len(x), err)
			}
		})
	}
}

func TestWriteVectorsRoundTrip(t *testing.T) {
	x := []float32{1.5, -2.25e-7, 3, 1e30, 0, -0.1}
	var buf bytes.Buffer
	if err := WriteVectors(&buf, x, 3, 2); err != nil {
		t.Fatal(err)
	}
	y, n, d, err := ReadVectors(&buf)
	if err != nil || n != 3 || d != 2 {
		t.Fatalf("%d×%d, %v", n, d, err)
	}
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("value %d: %v became %v", i, x[i], y[i])
		}
	}
}

func FuzzReadVectors(f *testing.F) {
	f.Add("1\t2\n3\t4\n")
	f.Add("1e3\t-0\n\n5\t.5")
	f.Add("1\t2\n3\n")
	f.Add("nan\tinf\n")
	f.Fuzz(func(t *testing.T, in string) {
		x, n, d, err := ReadVectors(strings.NewReader(in))
		if err != nil {
			return
		}
		if n < 1 || d < 1 || len(x) != n*d {
			t.Fatalf("%d×%d with %d values", n, d, len(x))
		}
		if err := checkMatrix("fuzz", x, n, d); err != nil {
			t.Fatalf("reader let through %v", err)
		}
		var buf bytes.Buffer
		if err := WriteVectors(&buf, x, n, d); err != nil {
			t.Fatal(err)
		}
		y, n2, d2, err := ReadVectors(&buf)
		if err != nil || n2 != n || d2 != d {
			t.Fatalf("round trip: %d×%d, %v", n2, d2, err)
		}
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("round trip changed %v to %v", x[i], y[i])
			}
		}
	})
}

// TestWriteVectorsLarge: a matrix large enough to be formatted on every
// core reads back exactly, rows in order, and a failing writer's error
// comes back.
func TestWriteVectorsLarge(t *testing.T) {
	const n, d = 10_000, 17
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(i)*0.37 - float32(i%13)*1e-3
	}
	var buf bytes.Buffer
	if err := WriteVectors(&buf, x, n, d); err != nil {
		t.Fatal(err)
	}
	got, gn, gd, err := ReadVectors(&buf)
	if err != nil || gn != n || gd != d || !slices.Equal(got, x) {
		t.Fatalf("read back %d×%d (%v), equal %v", gn, gd, err, slices.Equal(got, x))
	}
	if err := WriteVectors(failingWriter{}, x, n, d); err == nil {
		t.Error("a failing writer: no error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
