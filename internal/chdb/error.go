package chdb

import (
	"errors"
	"strconv"
	"strings"
)

// Error is an exception raised by the engine, with ClickHouse's code and name.
type Error struct {
	Code    int    // e.g. 60
	Name    string // e.g. "UNKNOWN_TABLE"; empty when the message carries none
	Message string // the full text, as ClickHouse formats it ("Code: 60. DB::Exception: ...")
}

func (e *Error) Error() string { return e.Message }

// Well-known ClickHouse error codes used by callers of this package.
const (
	CodeUnknownTable        = 60
	CodeSyntaxError         = 62
	CodeUnknownDatabase     = 81
	CodeTimeoutExceeded     = 159
	CodeTooManyRows         = 158
	CodeReadonly            = 164
	CodeQueryWasCancelled   = 394
	CodeUnknownSetting      = 115
	CodeAuthenticationFail  = 516
	CodeIncorrectData       = 117
	CodeCannotParseInput    = 27
	CodeUnknownFormat       = 73
	CodeBadArguments        = 36
	CodeUnknownIdentifier   = 47
	CodeChecksumDoesntMatch = 40
	CodeTooLargeRequest     = 307 // TOO_MANY_BYTES
	CodeNetworkError        = 210
	CodeNotImplemented      = 48
	CodeUnknownException    = 1002
)

// parseError turns the engine's error text into an *Error. The text starts
// with "Code: N. DB::Exception: " and, for most errors, ends with "(NAME)".
func parseError(msg string) *Error {
	msg = strings.TrimRight(msg, "\n ")
	e := &Error{Code: CodeUnknownException, Message: msg}
	if rest, ok := strings.CutPrefix(msg, "Code: "); ok {
		if i := strings.IndexByte(rest, '.'); i > 0 {
			if code, err := strconv.Atoi(rest[:i]); err == nil {
				e.Code = code
			}
		}
	}
	// The name is the last parenthesised upper-case word, possibly followed
	// by a version note such as "(version 26.7.3.1)".
	s := msg
	for {
		open := strings.LastIndexByte(s, '(')
		if open < 0 {
			break
		}
		closeIdx := strings.IndexByte(s[open:], ')')
		if closeIdx > 0 {
			word := s[open+1 : open+closeIdx]
			if isErrorName(word) {
				e.Name = word
				break
			}
		}
		s = s[:open]
	}
	return e
}

func isErrorName(s string) bool {
	if len(s) < 3 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && r != '_' && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// CodeOf returns the ClickHouse error code carried by err, or 0.
func CodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
