package chhttp

import (
	"slices"
	"strings"
)

// statement is what the HTTP layer needs to know of a SQL text without
// parsing it fully: its leading keyword, the output/input format named by a
// top-level FORMAT clause, and for INSERT … FORMAT the offset where inline
// data begins.
type statement struct {
	keyword   string   // upper-cased first keyword: SELECT, INSERT, WITH, SHOW, …
	words     []string // the first few top-level words, upper-cased (keyword included)
	format    string   // the FORMAT clause's format name, "" when absent
	formatAt  int      // offset of the FORMAT keyword, -1 when absent
	dataAt    int      // INSERT … FORMAT x: offset of the first data byte; -1 otherwise
	truncated bool     // the scan reached the end of the text inside a token
	end       int      // offset where the first statement ends: its semicolon, or the end of the text
	more      bool     // another statement follows the first
	outfile   bool     // a top-level INTO OUTFILE clause
}

// leadingWords is how many top-level words statement.words keeps.
const leadingWords = 4

// scanStatement lexes sql far enough to fill a statement. Strings, quoted
// identifiers, heredocs, comments and brackets are skipped so a FORMAT inside
// them is not mistaken for the clause. For INSERT the scan stops at the
// FORMAT name: what follows is data, possibly binary.
//
// FORMAT is also a valid identifier (a column, an alias, the format()
// function), so a FORMAT word is taken for the clause only when a name
// follows it that is not a keyword, and — outside INSERT, where data follows
// — when the name ends the statement or is followed by its SETTINGS clause.
func scanStatement(sql string) statement {
	st := statement{formatAt: -1, dataAt: -1, end: len(sql)}
	depth := 0
	prev := ""  // the previous top-level word
	fmtKw := -1 // offset of a FORMAT word awaiting its name
	var (
		cand   string // a FORMAT clause awaiting confirmation by what follows it
		candAt = -1
	)
	// token is called for every token outside brackets, strings and
	// comments, with the upper-cased word or "" for other tokens. It
	// settles a candidate FORMAT clause.
	token := func(word string) {
		if candAt < 0 {
			return
		}
		if word == "SETTINGS" {
			st.format, st.formatAt = cand, candAt
		}
		cand, candAt = "", -1
	}
	i := 0
	n := len(sql)
	for i < n {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-',
			c == '#' && i+1 < n && (sql[i+1] == '!' || sql[i+1] == ' '):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = n
				continue
			}
			i += j + 1
		case c == '/' && i+1 < n && sql[i+1] == '*':
			j := skipBlockComment(sql, i)
			if j < 0 {
				st.truncated = true
				return st
			}
			i = j
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(sql, i)
			if j < 0 {
				st.truncated = true
				return st
			}
			i = j
			fmtKw = -1
			if depth == 0 {
				token("")
			}
		case c == '$':
			j, ok := skipHeredoc(sql, i)
			if !ok {
				i++
			} else if j < 0 {
				st.truncated = true
				return st
			} else {
				i = j
			}
			fmtKw = -1
			if depth == 0 {
				token("")
			}
		case c == '(' || c == '[' || c == '{':
			if depth == 0 {
				token("")
			}
			depth++
			i++
			fmtKw = -1
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			i++
			fmtKw = -1
		case c == ';':
			// End of the first statement.
			if depth == 0 && candAt >= 0 {
				st.format, st.formatAt = cand, candAt
			}
			st.end = i
			st.more = !onlyBlanks(sql[i+1:])
			return st
		case isIdentStart(c):
			j := i + 1
			for j < n && isIdentPart(sql[j]) {
				j++
			}
			word := sql[i:j]
			upper := strings.ToUpper(word)
			if st.keyword == "" {
				st.keyword = upper
			}
			if depth == 0 && len(st.words) < leadingWords {
				st.words = append(st.words, upper)
			}
			if depth > 0 {
				i = j
				continue
			}
			token(upper)
			if prev == "INTO" && upper == "OUTFILE" && st.keyword != "INSERT" {
				st.outfile = true
			}
			prev = upper
			switch {
			case fmtKw >= 0 && upper != "FORMAT" && !notFormatName[upper]:
				if st.keyword == "INSERT" {
					st.format, st.formatAt = word, fmtKw
					st.dataAt = dataStart(sql, j)
					return st
				}
				cand, candAt = word, fmtKw
				fmtKw = -1
			case upper == "FORMAT":
				fmtKw = i
			default:
				fmtKw = -1
			}
			i = j
		default:
			i++
			fmtKw = -1
			if depth == 0 {
				token("")
			}
		}
	}
	// The end of the text confirms a FORMAT clause that ends it.
	if candAt >= 0 {
		st.format, st.formatAt = cand, candAt
	}
	return st
}

// onlyBlanks reports whether s holds nothing but whitespace, comments and
// semicolons.
func onlyBlanks(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == ';':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-',
			c == '#' && i+1 < len(s) && (s[i+1] == '!' || s[i+1] == ' '):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return true
			}
			i += j + 1
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := skipBlockComment(s, i)
			if j < 0 {
				return false
			}
			i = j
		default:
			return false
		}
	}
	return true
}

// notFormatName lists keywords that may follow an identifier named format
// and so must not be read as a format name.
var notFormatName = map[string]bool{
	"FROM": true, "WHERE": true, "PREWHERE": true, "AS": true, "AND": true, "OR": true, "NOT": true,
	"IN": true, "IS": true, "LIKE": true, "ILIKE": true, "BETWEEN": true, "SETTINGS": true, "SELECT": true,
	"UNION": true, "EXCEPT": true, "INTERSECT": true, "LIMIT": true, "OFFSET": true, "ORDER": true,
	"GROUP": true, "HAVING": true, "QUALIFY": true, "WINDOW": true, "JOIN": true, "ON": true, "USING": true,
	"WITH": true, "VALUES": true, "INTO": true, "BY": true, "ASC": true, "DESC": true, "FINAL": true,
	"SAMPLE": true, "ARRAY": true, "LEFT": true, "RIGHT": true, "INNER": true, "OUTER": true, "FULL": true,
	"CROSS": true, "GLOBAL": true, "ANY": true, "ALL": true, "DISTINCT": true, "CASE": true, "WHEN": true,
	"THEN": true, "ELSE": true, "END": true, "COLLATE": true, "NULLS": true, "FILL": true, "TO": true,
}

// changesSession reports whether the statement changes state that outlives
// it on the connection it runs on: settings, the current database,
// temporary tables, transactions.
func (st statement) changesSession() bool {
	switch st.keyword {
	case "SET", "USE", "BEGIN", "COMMIT", "ROLLBACK", "START":
		return true
	case "CREATE", "DROP", "ATTACH", "DETACH", "RENAME", "EXCHANGE", "TRUNCATE":
		return slices.Contains(st.words, "TEMPORARY")
	}
	return false
}

// dataStart skips the blanks after an INSERT's format name up to and
// including the first newline, as ClickHouse does: binary data may begin
// with bytes that look like whitespace, so no more is skipped.
func dataStart(sql string, i int) int {
	for i < len(sql) && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\f') {
		i++
	}
	if i < len(sql) && sql[i] == '\r' {
		i++
	}
	if i < len(sql) && sql[i] == '\n' {
		i++
	}
	return i
}

// skipQuoted returns the offset after the string or quoted identifier
// starting at i, or -1 when the text ends inside it.
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

// skipBlockComment returns the offset after the comment starting at i, or
// -1 when the text ends inside it. Block comments nest in ClickHouse.
func skipBlockComment(s string, i int) int {
	depth := 0
	for i+1 < len(s) {
		switch {
		case s[i] == '/' && s[i+1] == '*':
			depth++
			i += 2
		case s[i] == '*' && s[i+1] == '/':
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return -1
}

// skipHeredoc recognises a heredoc string ($tag$ … $tag$, tag possibly
// empty) at i. ok is false when the text at i does not open one; end is -1
// when the text ends inside it.
func skipHeredoc(s string, i int) (end int, ok bool) {
	j := i + 1
	for j < len(s) && isIdentPart(s[j]) && s[j] < 0x80 {
		j++
	}
	if j >= len(s) || s[j] != '$' {
		return 0, false
	}
	tag := s[i : j+1]
	k := strings.Index(s[j+1:], tag)
	if k < 0 {
		return -1, true
	}
	return j + 1 + k + len(tag), true
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
