package dataset

// Info describes a dataset without its items: what a catalogue lists, what
// the explorer's pages show before anything is decoded, and what is kept
// of an upload. It is the one description of a dataset's contents; where a
// dataset comes from (bundled or uploaded, by whom) is its catalogue's
// business.
type Info struct {
	Name        string `json:"name"`        // the dataset's key, e.g. "digits" or an upload's "u-…" id
	Title       string `json:"title"`       // human title
	Description string `json:"description"` // one or two sentences for a learner
	Source      string `json:"source"`      // attribution
	License     string `json:"license"`     // licence name and note
	Kind        Kind   `json:"kind"`

	Items   int `json:"items"`   // number of items
	Train   int `json:"train"`   // items in the training split
	Test    int `json:"test"`    // items held out
	Dim     int `json:"dim"`     // feature dimension: Width×Height for images, hash buckets for text, items for interactions
	Classes int `json:"classes"` // number of label classes
	Width   int `json:"width"`   // image width in pixels, 0 for other kinds
	Height  int `json:"height"`  // image height in pixels, 0 for other kinds

	Users        int  `json:"users,omitempty"`        // Kind interactions: number of users
	Interactions int  `json:"interactions,omitempty"` // Kind interactions: plays, held-out ones included
	Precomputed  bool `json:"precomputed,omitempty"`  // finished embeddings, explored without training
}

// Info describes d.
func (d *Dataset) Info() Info {
	in := Info{
		Name: d.Name, Title: d.Title, Description: d.Description, Source: d.Source, License: d.License,
		Kind: d.Kind, Items: d.Len(), Dim: d.Dim, Classes: len(d.ClassNames), Width: d.Width, Height: d.Height,
		Users: len(d.Users), Precomputed: d.Precomputed,
	}
	for _, s := range d.Splits {
		if s == Test {
			in.Test++
		} else {
			in.Train++
		}
	}
	for _, u := range d.Users {
		in.Interactions += len(u)
	}
	return in
}
