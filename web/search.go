package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/contrastive-explorer/explorer/run/search"
)

// This file is the search endpoint, GET /api/runs/{id}/search
// (docs/protocol.md, "Search"): it finds items to highlight on the map.
// Package search does the ranking.

// Limits of the search endpoint.
const (
	defaultSearchK = 20
	maxSearchK     = 1000
	maxQueryRunes  = 200
)

// searchJSON answers GET /api/runs/{id}/search.
type searchJSON struct {
	Query   string          `json:"query"`
	Item    *int            `json:"item"` // the item searched by, null for a query
	Epoch   int             `json:"epoch"`
	Method  string          `json:"method"`
	Classes []int32         `json:"classes"` // the labels a query matched (method labels)
	Results []search.Result `json:"results"`
}

func (s *Server) search(c *echo.Context) error {
	r, err := s.run(c)
	if err != nil {
		return err
	}
	ds := r.Dataset().Data
	n := ds.Len()
	q := strings.TrimSpace(c.QueryParam("q"))
	hasItem := c.QueryParam("item") != ""
	switch {
	case q == "" && !hasItem:
		return badInput("q", "what to search for? give q (a query) or item (an item's index)")
	case q != "" && hasItem:
		return badInput("q", "give q or item, not both")
	case !utf8.ValidString(q):
		return badInput("q", "the query is not valid UTF-8")
	case utf8.RuneCountInString(q) > maxQueryRunes:
		return badInput("q", "the query is too long (at most %d characters)", maxQueryRunes)
	}
	item, err := intParam(c, "item", -1, 0, n-1)
	if err != nil {
		return err
	}
	k, err := intParam(c, "k", defaultSearchK, 1, maxSearchK)
	if err != nil {
		return err
	}
	rec, err := s.epochParam(c, r)
	if err != nil {
		return err
	}

	var embed search.TextEmbedder
	if !hasItem && search.EmbedsQueries(ds) {
		if e := r.TextEmbedder(); e != nil {
			embed = e
			// The query can only be embedded with the encoder's newest
			// weights: rank it among the embeddings those weights made,
			// the newest epoch's, not among another encoder's (the epoch
			// on screen). The answer's epoch says which was searched.
			if newest := r.Summary().Epoch; newest != rec.Epoch {
				if rec, err = r.Epoch(c.Request().Context(), newest); err != nil {
					return err
				}
			}
		}
	}
	ep := &search.Epoch{Data: ds, Embeddings: rec.Embeddings, Dim: rec.Dim}
	var ans search.Answer
	out := searchJSON{Query: q, Epoch: rec.Epoch}
	if hasItem {
		out.Item = &item
		ans = ep.Similar(item, k)
	} else {
		ans = ep.Query(q, k, embed)
	}
	out.Method, out.Classes, out.Results = ans.Method, ans.Classes, ans.Results
	return c.JSON(http.StatusOK, out)
}
