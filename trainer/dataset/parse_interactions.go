package dataset

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// timeLayouts are the timestamp forms interactions accept besides plain
// numbers (seconds, or any increasing count).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// parseTime returns a timestamp as a number, and "" or a message.
func parseTime(s string) (float64, string) {
	s = strings.TrimSpace(s)
	if v, prob := parseFloat(s, 64); prob == numOK {
		return v, ""
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return float64(t.Unix()) + float64(t.Nanosecond())/1e9, ""
		}
	}
	if s == "" {
		return 0, "the time in this row is empty: fill it in (a number, or a date like 2024-05-01), or delete the row"
	}
	return 0, quote(s) + " is not a time: write a number, or a date like 2024-05-01 or 2024-05-01T12:00:00Z"
}

// parseInteractions reads user,item[,timestamp] rows. The first row is a
// header when it names a user and an item column (names without digits
// containing "user" and "item", or another item word such as "movie" or
// "product"), or when its third field is not a timestamp; a header
// may also name a timestamp column (containing "time" or "date") and an
// item label column (label, genre, category or class, or
// opts.LabelColumn). Without a header the columns are user, item and an
// optional timestamp.
//
// The items become the points, with one-hot item-ID features. Each user's
// interactions are ordered by timestamp (file order without one, and among
// equal timestamps); the last is held out when the user has at least two.
func (p *parser) parseInteractions() (*Dataset, error) {
	c := p.newCSVReader(strings.ToLower(path.Ext(p.file)))
	rec, err := c.read()
	if err == io.EOF {
		return nil, p.fail(0, 0, msgEmpty)
	}
	if err != nil {
		return nil, err
	}
	width := len(rec)
	userCol, itemCol, timeCol, labelCol := 0, 1, -1, -1
	first := make([]string, width)
	lower := make([]string, width)
	for i, f := range rec {
		first[i] = string(f)
		lower[i] = strings.ToLower(strings.TrimSpace(first[i]))
	}
	header := headerNames(lower)
	if !header && width >= 3 {
		_, msg := parseTime(first[2])
		header = msg != ""
	}
	if header {
		userCol, itemCol = contains(lower, "user"), itemColumn(lower)
		if userCol < 0 || itemCol < 0 || userCol == itemCol {
			return nil, p.fail(1, 0, `the header needs a column whose name contains "user" and one whose name contains "item" (or movie, product, track …): rename those columns in the first line`)
		}
		if timeCol = contains(lower, "time"); timeCol < 0 {
			timeCol = contains(lower, "date")
		}
		var msg string
		if labelCol, msg = findColumn(first, p.opts.LabelColumn, append(labelNames[:len(labelNames):len(labelNames)], "genre"), "label"); msg != "" {
			return nil, p.fail(1, 0, msg)
		}
		for _, col := range []*int{&timeCol, &labelCol} {
			if *col == userCol || *col == itemCol {
				*col = -1
			}
		}
	} else {
		if width != 2 && width != 3 {
			return nil, p.fail(1, 0, fmt.Sprintf("the first row has %d %s, but interactions without a header have two or three (user, item and maybe the time): "+
				"add a first line naming the columns, such as user,item,time", width, plural(width, "cell", "cells")))
		}
		if width == 3 {
			timeCol = 2
		}
	}

	var (
		users, items  = map[string]int32{}, map[string]int32{}
		itemNames     []string
		itemLabels    []int32
		rowUser       []int32
		rowItem       []int32
		rowTime       []float64
		cls           = newClasses(p.lim.MaxClasses)
		firstDataLine = 1
		held          int64 // bytes the dataset will hold, and the rows until they are sorted
	)
	if header {
		firstDataLine = 2
		rec, err = c.read()
	}
	for ; err != io.EOF; rec, err = c.read() {
		if err != nil {
			return nil, err
		}
		if len(rec) != width {
			if !header {
				return nil, p.fail(c.line, min(len(rec), width)+1, raggedMsg(len(rec), width, "the first row"))
			}
			return nil, c.ragged(len(rec), width)
		}
		if len(rowUser) >= p.lim.MaxInteractions {
			return nil, p.fail(c.line, 0, fmt.Sprintf("more than %d interactions, the most the explorer takes: upload a sample of at most %d rows",
				p.lim.MaxInteractions, p.lim.MaxInteractions))
		}
		// A row is user, item and time while reading, then its place in
		// the order by user and in a user's sequence.
		if held += 4 + 4 + 8 + 4 + 4; p.overBudget(held) {
			return nil, p.fail(c.line, 0, p.budgetMsg())
		}
		uname, iname := bytes.TrimSpace(rec[userCol]), bytes.TrimSpace(rec[itemCol])
		if len(uname) == 0 {
			return nil, p.fail(c.fieldLine(userCol), userCol+1, "the user in this row is empty: fill it in, or delete the row")
		}
		if len(iname) == 0 {
			return nil, p.fail(c.fieldLine(itemCol), itemCol+1, "the item in this row is empty: fill it in, or delete the row")
		}
		u, ok := users[string(uname)]
		if !ok {
			if len(users) >= p.lim.MaxUsers {
				return nil, p.fail(c.line, userCol+1, fmt.Sprintf("more than %d users, the most the explorer takes: upload the interactions of at most %d users",
					p.lim.MaxUsers, p.lim.MaxUsers))
			}
			u = int32(len(users))
			users[string(uname)] = u
			held += 24 + 4 // the user's sequence and held-out item
		}
		it, ok := items[string(iname)]
		if !ok {
			if len(items) >= p.lim.MaxItems {
				return nil, p.fail(c.line, itemCol+1, p.tooManyMsg())
			}
			it = int32(len(items))
			full := string(iname)
			items[full] = it
			name := displayName(full)
			itemNames = append(itemNames, name)
			itemLabels = append(itemLabels, NoLabel)
			// Name, label and split, and the one-hot features.
			if held += stringBytes + int64(len(name)) + itemBytes + 8 + 4 + 4; p.overBudget(held) {
				return nil, p.fail(c.line, itemCol+1, p.budgetMsg())
			}
		}
		if labelCol >= 0 {
			if name := bytes.TrimSpace(rec[labelCol]); len(name) > 0 {
				l, ok := cls.idBytes(name)
				if !ok {
					return nil, p.fail(c.fieldLine(labelCol), labelCol+1, p.tooManyLabelsMsg(cls.max, first[labelCol]))
				}
				if old := itemLabels[it]; old != NoLabel && old != l {
					return nil, p.fail(c.fieldLine(labelCol), labelCol+1, fmt.Sprintf("item %s has the label %s here but %s in a row above: give each item one label",
						quote(string(iname)), quote(string(name)), quote(cls.names[old])))
				}
				itemLabels[it] = l
			}
		}
		if timeCol >= 0 {
			t, msg := parseTime(string(rec[timeCol]))
			if msg != "" {
				return nil, p.fail(c.fieldLine(timeCol), timeCol+1, msg)
			}
			rowTime = append(rowTime, t)
		}
		rowUser = append(rowUser, u)
		rowItem = append(rowItem, it)
	}
	if len(rowUser) == 0 && firstDataLine == 2 {
		return nil, p.fail(0, 0, "there are no rows below the header: add a row for each interaction (user, item)")
	}

	// Bucket the rows by user, keeping file order, then order each user's
	// rows by time.
	nu := len(users)
	start := make([]int, nu+1)
	for _, u := range rowUser {
		start[u+1]++
	}
	for u := range nu {
		start[u+1] += start[u]
	}
	order := make([]int32, len(rowUser)) // row numbers grouped by user
	fill := slices.Clone(start[:nu])
	for r, u := range rowUser {
		order[fill[u]] = int32(r)
		fill[u]++
	}
	seq := make([]int32, len(order))
	ds := &Dataset{
		Kind:       Interactions,
		Dim:        len(items),
		Labels:     itemLabels,
		ClassNames: cls.names,
		ItemNames:  itemNames,
		Sparse:     Identity(len(items)),
		Users:      make([][]int32, nu),
		HeldOut:    make([]int32, nu),
	}
	for u := range nu {
		if u%ctxEvery == 0 {
			if err := p.stopped(); err != nil {
				return nil, err
			}
		}
		rows := order[start[u]:start[u+1]]
		if rowTime != nil {
			slices.SortStableFunc(rows, func(a, b int32) int { return cmp.Compare(rowTime[a], rowTime[b]) })
		}
		s := seq[start[u]:start[u+1]]
		for k, r := range rows {
			s[k] = rowItem[r]
		}
		ds.HeldOut[u] = NoLabel
		if len(s) >= 2 {
			ds.HeldOut[u] = s[len(s)-1]
			s = s[: len(s)-1 : len(s)-1]
		}
		ds.Users[u] = s
	}
	return ds, nil
}

// itemWords are the words an item column's name may contain, so that
// common exports (MovieLens' movieId, a shop's product_id) are recognised.
var itemWords = []string{"item", "movie", "product", "track", "song", "book", "artist", "film", "video", "article"}

// itemColumn returns the first lower-cased name containing an item word,
// or -1.
func itemColumn(lower []string) int {
	for i, n := range lower {
		for _, w := range itemWords {
			if strings.Contains(n, w) {
				return i
			}
		}
	}
	return -1
}

// headerNames reports whether lower-cased fields name a user and an item
// column: fields containing "user" and an item word and no digits (so that
// rows like "user_1,item_7" are data).
func headerNames(lower []string) bool {
	u, i := contains(lower, "user"), itemColumn(lower)
	return u >= 0 && i >= 0 && u != i && !strings.ContainsAny(lower[u]+lower[i], "0123456789")
}

// contains returns the index of the first of names containing sub, or -1.
func contains(names []string, sub string) int {
	for i, n := range names {
		if strings.Contains(n, sub) {
			return i
		}
	}
	return -1
}
