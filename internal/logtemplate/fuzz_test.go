package logtemplate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"",
	" ",
	"<*>",
	"connection to 10.0.0.5:5432 timed out after 250ms",
	`java.lang.NullPointerException: Cannot invoke "String.length()" because "s" is null`,
	"\tat com.example.Foo.bar(Foo.java:123)",
	`  File "/app/x.py", line 42, in handler`,
	`level=error msg="failed to connect" err="dial tcp 10.0.0.5:5432: connect: connection refused" trace_id=4bf92f3577b34da6a3ce929d0e0e4736`,
	"GET https://api.example.com/v1/users/12345/orders failed: 503 Service Unavailable",
	"Thu Aug 04 15:29:45 PDT 2005 user bob@example.com logged in from fe80::1ff:fe23:4567:890a",
	"Failed password for invalid user admin from 1.2.3.4 port 22 ssh2",
	"Block rdd_42_1 stored as bytes in memory (estimated size 935.0 B, free 807.4 KB)",
	"/p/gb1/stella/RAPTOR/2183 'unterminated \"quote",
	"a=b=c==d key= ='x' \"\" '' `y` k=\"v\\\"w\"",
	"\x00\xff\xfe invalid \xc3\x28 utf8 \u00a0nbsp\u3000ideographic",
	"-1 +2 --3 _-4 x-5 May 5 Sun, 06 Nov 1994 08:49:37 GMT",
}

// Inputs the fuzzer found to break idempotence in earlier versions; kept as
// seeds so plain `go test` re-checks them.
var fuzzRegressions = []string{
	"`a`000000",
	"A=0 0!",
	"0_=A",
	"00:AA@.AA",
	"000\u00a0'a'",
	"/A/0?",
	"0\x92_=0",
	"/0/0.C",
	"/0 0/",
	"A=0(` `a`",
	"A.a00A.aa.0",
	"\" A=\\\"\"a\"",
	"\"`!A` \"+0",
	"\"\"\xbf0 \"\"!\"",
	"A=\"\"_0\"",
	"\"\"/0/ \"\"!\"",
	"\"a\"/ ",
	"'" + strings.Repeat("\xe9A 0 ", 100) + "'",
}

func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, s := range fuzzRegressions {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := Normalize(body)
		if !utf8.ValidString(r.Template) {
			t.Fatalf("template is not valid UTF-8: %q -> %q", body, r.Template)
		}
		if r.Hash != HashTemplate(r.Template) {
			t.Fatalf("hash mismatch for %q", body)
		}
		if len(r.Template) > 3*len(body)+len(Placeholder) {
			t.Fatalf("template grew too much: %d -> %d", len(body), len(r.Template))
		}
		again := Normalize(r.Template)
		if again.Template != r.Template {
			t.Fatalf("not idempotent:\n in:  %q\n 1st: %q\n 2nd: %q", body, r.Template, again.Template)
		}
	})
}
