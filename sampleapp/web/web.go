// Package web holds the shop's browser front end, served by the frontend
// service at / (index.html) and /static/ (everything in static/). Replace or
// add files under static/; they are embedded at build time.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:static
var files embed.FS

// FS returns the site with static/ as its root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		// static/ is embedded above; a missing directory is a build defect.
		panic(err)
	}
	return sub
}
