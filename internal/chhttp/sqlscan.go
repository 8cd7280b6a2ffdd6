package chhttp

import (
	"strings"
)

// statement is what the HTTP layer needs to know of a SQL text without
// parsing it fully: its leading keyword, the output/input format named by a
// top-level FORMAT clause, and for INSERT … FORMAT the offset where inline
// data begins.
type statement struct {
	keyword   string // upper-cased first keyword: SELECT, INSERT, WITH, SHOW, …
	format    string // the FORMAT clause's format name, "" when absent
	formatAt  int    // offset of the FORMAT keyword, -1 when absent
	dataAt    int    // INSERT … FORMAT x: offset of the first data byte; -1 otherwise
	truncated bool   // the scan reached the end of the text inside a token
}

// scanStatement lexes sql far enough to fill a statement. Strings, quoted
// identifiers, comments and parentheses are skipped so a FORMAT inside them
// is not mistaken for the clause. For INSERT the scan stops at the FORMAT
// name: what follows is data, possibly binary.
func scanStatement(sql string) statement {
	st := statement{formatAt: -1, dataAt: -1}
	depth := 0
	prevFormat := -1 // offset of a FORMAT keyword awaiting its name
	i := 0
	n := len(sql)
	for i < n {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-', c == '#' && i+1 < n && sql[i+1] == '!':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				return st
			}
			i += j + 1
		case c == '/' && i+1 < n && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				st.truncated = true
				return st
			}
			i += j + 4
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(sql, i)
			if j < 0 {
				st.truncated = true
				return st
			}
			i = j
			prevFormat = -1
		case c == '(' || c == '[' || c == '{':
			depth++
			i++
			prevFormat = -1
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			i++
			prevFormat = -1
		case c == ';':
			// End of the first statement; anything after is not our concern.
			return st
		case isIdentStart(c):
			j := i + 1
			for j < n && isIdentPart(sql[j]) {
				j++
			}
			word := sql[i:j]
			switch {
			case st.keyword == "":
				st.keyword = strings.ToUpper(word)
			case prevFormat >= 0:
				st.format = word
				st.formatAt = prevFormat
				prevFormat = -1
				if st.keyword == "INSERT" {
					st.dataAt = dataStart(sql, j)
					return st
				}
			case depth == 0 && strings.EqualFold(word, "FORMAT"):
				prevFormat = i
			}
			i = j
		default:
			i++
			prevFormat = -1
		}
	}
	return st
}

// dataStart skips the blanks after an INSERT's format name up to and
// including the first newline, as ClickHouse does: binary data may begin
// with bytes that look like whitespace, so no more is skipped.
func dataStart(sql string, i int) int {
	for i < len(sql) {
		switch sql[i] {
		case ' ', '\t', '\r':
			i++
		case '\n':
			return i + 1
		default:
			return i
		}
	}
	return i
}

func skipQuoted(s string, i int) int {
	q := s[i]
	i++
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case q:
			if i+1 < len(s) && s[i+1] == q { // doubled quote escapes itself
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return -1
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

// producesOutput reports whether a statement kind returns rows.
func producesOutput(keyword string) bool {
	switch keyword {
	case "INSERT", "CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME", "OPTIMIZE", "SET", "USE", "ATTACH", "DETACH", "GRANT", "REVOKE", "KILL", "SYSTEM", "DELETE", "UPDATE":
		return false
	}
	return true
}
