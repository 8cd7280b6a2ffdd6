package chdb

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseError(t *testing.T) {
	for _, c := range []struct {
		msg  string
		code int
		name string
	}{
		{"Code: 60. DB::Exception: Unknown table expression identifier 'x' in scope SELECT * FROM x. (UNKNOWN_TABLE) (version 26.7.2.1)\n", 60, "UNKNOWN_TABLE"},
		{"Code: 395. DB::Exception: boom (x) (y): while executing 'FUNCTION throwIf(...)'. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)", 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO"},
		{"Code: 27. DB::Exception: Cannot parse input: (at row 2)\n: \nRow 1:\n(CANNOT_PARSE_INPUT_ASSERTION_FAILED) (version 26.7.2.1)", 27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED"},
		{"something without a code", CodeUnknownException, ""},
		{"Code: x. nonsense (AB)", CodeUnknownException, ""},
	} {
		e := parseError(c.msg)
		assert.Equal(t, c.code, e.Code, c.msg)
		assert.Equal(t, c.name, e.Name, c.msg)
		assert.False(t, strings.HasSuffix(e.Message, "\n"), "trailing newline kept: %q", e.Message)
		assert.Equal(t, c.code, CodeOf(fmt.Errorf("wrapped: %w", e)))
	}
	assert.Zero(t, CodeOf(errors.New("plain")))
}
