// Package static holds the browser half of the explorer: plain ES modules,
// one stylesheet, no build step. The files are embedded in the binary and
// served under /static/.
package static

import "embed"

// FS holds the scripts and the stylesheet, at the root of the file
// system (e.g. "run.js", "style.css"), and the run page's modules in run/.
//
//go:embed *.js *.css run/*.js
var FS embed.FS
