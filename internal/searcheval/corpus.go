// Package searcheval scores error search (find_similar_errors) on a public
// query set: queries labelled with the documents a person would accept,
// over a store holding the sample shop's error logs and the public Loghub
// 2k samples.
package searcheval

import "strings"

var (
	escaper   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	unescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r")
)

func escapeField(s string) string   { return escaper.Replace(s) }
func unescapeField(s string) string { return unescaper.Replace(s) }
