package logtemplate

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The differential tests below prove that the optimised scanner changed
// nothing: for every input Normalize must return exactly what the frozen
// copy in reference_test.go returns, template and hash alike.

// matchesReference reports a difference between Normalize and the
// reference for body, and also for the reference's template (normalising a
// template exercises the placeholder rules). It returns false on a
// difference so that callers can stop after a few.
func matchesReference(t *testing.T, body string) bool {
	t.Helper()
	want := refNormalize(body)
	got := Normalize(body)
	if got.Template != want.Template || got.Hash != want.Hash {
		t.Errorf("Normalize(%q)\n got: %q %#x\nwant: %q %#x", body, got.Template, got.Hash, want.Template, want.Hash)
		return false
	}
	again, wantAgain := Normalize(want.Template), refNormalize(want.Template)
	if again != Result(wantAgain) {
		t.Errorf("Normalize(%q) (template of %q)\n got: %q\nwant: %q", want.Template, body, again.Template, wantAgain.Template)
		return false
	}
	return true
}

// diffPieces are realistic fragments of error logs, including the shapes
// every rule looks for and the characters that steer them.
var diffPieces = []string{
	// words, code names and keywords the rules know
	"connection", "refused", "timeout", "after", "failed", "Operation12", "calling", "request", "error",
	"Error", "ERROR", "WARN", "at", "in", "of", "to", "from", "port", "ssh2", "user", "User", "USERNAME",
	"username", "for", "invalid", "password", "Failed", "publickey", "authentication", "sudo", "root",
	"admin", "not", "found", "GET", "POST", "delete", "Put", "HTTP/1.1", "msg", "err", "level", "reason",
	"Slf4jLogger", "HttpServer2", "GeneratedMethodAccessor42", "Base64Encoder", "int64", "x509", "sha256",
	"utf-8", "UTF-8", "x86_64", "iso-8859-1", "v1", "V2", "v123", "k8s", "ec2", "Jan", "May", "Sept",
	"Thu", "thursday", "December", "ms", "MB", "KB", "B", "s", "µs", "seconds", "byte", "days",
	"java.lang.NullPointerException", "com.example.Foo.bar(Foo.java:123)", "org.apache.hadoop",
	"java.base/java.lang.Thread.run", "App$$Lambda$123/0x0000000800c0b000.apply", "String.length()",
	"Cannot", "invoke", "because", "is", "null", "Caused", "by:", "Traceback", "File", "line", "handler",
	"KeyError:", "pq:", "duplicate", "key", "violates", "constraint", "orders_pkey", "__init__", "_id",
	"$ref", "a", "A", "x", "_", "-", "--", "+", "++",
	// numbers, ids and addresses
	"0", "1", "42", "412ms", "-1", "+2", "3.14", "1.5s", "935.0", "0x1f", "0xDEADbeef", "1a2b3c",
	"4bf92f3577b34da6a3ce929d0e0e4736", "abf92f3577b34da6a3ce929d0e0e4736", "deadbeef",
	"3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8", "deadbeef-cafe-babe-face-abcdefabcdef",
	"3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f", "10.0.0.5", "10.0.0.5:5432", "host-3:8042", "[::1]:443",
	"2001:db8::8a2e:370:7334", "fe80::1ff:fe23:4567:890a", "FF:F2:9F:16:EB:27", "12:00:01.123456",
	"15:29:45", "aa:bb", "rdd_42_7", "blk_-2", "blk_38865049064139660", "task_0020_m_000003",
	"attempt_1445_0020_m_000002_0", "ip-10-0-0-5.ec2.internal", "web-42.example.com",
	"api.example.com", "redis-master.cache.svc.cluster.local", "MININT-FNANLI5.fareast.corp.microsoft.com",
	"john.doe@example.com", "a@b.co", "x@y", "first.last+tag@mail.example.org", "SettableFuture@1b2c3d4e",
	"web-7d4b9c8f6-x2k9p_default", "HikariPool-1", "2024-01-15T10:30:00.123456+02:00", "2024-01-15",
	"15/Jan/2024:10:30:00", "+0000", "E0301",
	// paths and URLs
	"/var/log/app.log", "/etc/app/config.yaml", "/app/x.py", "./a/b", "../up", "~/home", "/mapreduce",
	"/", "//", `C:\build\src\App.cs`, "c:/x/y", "/api/v2/orders/9f8e7d6c/items", "/v1/orders?id=42",
	"https://api.example.com/v1/users/12345", "http://10.0.0.8:8080/x?y=1", "s3://bucket/key",
	"reflector.go:138]", "handler.go:42", "x.py", "/a/b.go", "/a/b.", "/a/b!",
	// key=value and quoting
	"key=value", "a=b", "id=42", "trace_id=4bf92f35", "msg=", "err=\"x y\"", "k='v'", "x==y", "=",
	"a=/x", "url=https://h/x", "k=<*>", "status=PENDING]", "(active=20,", "{\"user\":\"bob\",\"id\":42}",
	"'", "\"", "`", "'a'", "\"bob\"", "`JsonToken.START_OBJECT`", "'user_id'", "don't", "Can't",
	"\"s\"", "''", "\"\"", "'/srv/x.json'", "\"a b\"", "'a:'", "\"%s\"",
	// placeholders and separators
	"<*>", "<*", "*>", "<", ">", "->", "(", ")", "[", "]", "{", "}", ":", ";", ",", ".", "...", "!", "?",
	"#", "|", "\\", "~", "&", "%", "*", "@", "$",
	// whitespace, control characters, non-ASCII and invalid UTF-8
	" ", "  ", "\t", "\n", "\r\n", "\x00", "\x7f", "\u00a0", "\u3000", "\u2028", "\u0085", "é", "日本",
	"\xff", "\xc3\x28", "\xe2\x82", "\xf0\x9f\x98", "\xc3\xa9", "\xef\xbf\xbd",
}

// diffAlphabet holds one representative of every byte class the scanner
// distinguishes, so random strings over it reach the rules' corner cases
// far more often than uniformly random bytes do.
const diffAlphabet = "aAzZfF09x_-.:/\\'\"`=@<*>()[]{},;?!+~#|$% \t\n\x00\x7f\xff\xc2\xa0\xe3\x80"

func randomPieces(r *rand.Rand) string {
	var b strings.Builder
	for n := 1 + r.IntN(16); n > 0; n-- {
		b.WriteString(diffPieces[r.IntN(len(diffPieces))])
		switch r.IntN(6) {
		case 0, 1, 2:
			b.WriteByte(' ')
		case 3:
			b.WriteByte(diffAlphabet[r.IntN(len(diffAlphabet))])
		}
	}
	return b.String()
}

func randomAlphabet(r *rand.Rand) string {
	b := make([]byte, r.IntN(24))
	for k := range b {
		b[k] = diffAlphabet[r.IntN(len(diffAlphabet))]
	}
	return string(b)
}

func randomBytes(r *rand.Rand) string {
	b := make([]byte, r.IntN(40))
	for k := range b {
		b[k] = byte(r.Uint32())
	}
	return string(b)
}

// mutate applies a few random edits to s: inserting a piece or a byte,
// deleting, duplicating or truncating a span.
func mutate(r *rand.Rand, s string) string {
	b := []byte(s)
	for n := 1 + r.IntN(4); n > 0; n-- {
		at := 0
		if len(b) > 0 {
			at = r.IntN(len(b) + 1)
		}
		switch r.IntN(6) {
		case 0:
			b = append(b[:at:at], append([]byte(diffPieces[r.IntN(len(diffPieces))]), b[at:]...)...)
		case 1:
			b = append(b[:at:at], append([]byte{diffAlphabet[r.IntN(len(diffAlphabet))]}, b[at:]...)...)
		case 2:
			if at < len(b) {
				b[at] = diffAlphabet[r.IntN(len(diffAlphabet))]
			}
		case 3:
			end := min(len(b), at+r.IntN(8))
			b = append(b[:at:at], b[end:]...)
		case 4:
			end := min(len(b), at+r.IntN(12))
			b = append(b[:end:end], append(append([]byte(nil), b[at:end]...), b[end:]...)...)
		case 5:
			b = b[:at]
		}
	}
	return string(b)
}

// diffCorpus collects the fixed inputs: the unit-test cases, the fuzz seeds,
// the benchmark lines, hostile and adversarial inputs, and the Loghub
// sample when it is present.
func diffCorpus(t *testing.T) []string {
	var corpus []string
	for _, tc := range templateCases {
		corpus = append(corpus, tc.in, tc.want)
	}
	corpus = append(corpus, fuzzSeeds...)
	corpus = append(corpus, fuzzRegressions...)
	corpus = append(corpus, benchLines...)
	corpus = append(corpus, diffPieces...)
	corpus = append(corpus,
		"Operation12 failed: timeout after 412ms calling host-3:8042 (request 1a2b3c)",
		strings.Repeat("'", 1000), strings.Repeat(`"a `, 1000), strings.Repeat("<*", 1000),
		"valid \xc3\x28 invalid \xe2\x82 truncated \xf0\x9f\x98", "\u00a0\u3000\u2028",
	)
	// The patterns of BenchmarkNormalizeAdversarial, which reach the
	// look-ahead memos, repeated to a few sizes.
	for _, p := range []string{
		" 'a", `"a `, "1:", "a:", "/x=", "=/x", "a.", "a@", "user ", "Aug ", "<*>", "a=", "-1", "_a",
		"\u00a0a", "\xff", "password for ", "([{", `'\`, "1", "a", "a-1.", "x=/a/b?",
	} {
		for _, n := range []int{1, 2, 3, 7, 40, 300} {
			corpus = append(corpus, strings.Repeat(p, n))
		}
	}
	if _, ok := loghubDir(); ok {
		for _, sys := range loadLoghub(t) {
			for _, l := range sys.lines {
				corpus = append(corpus, l.content)
			}
		}
	} else {
		t.Log("Loghub 2k data not found; comparing without it")
	}
	return corpus
}

func TestNormalizeMatchesReference(t *testing.T) {
	corpus := diffCorpus(t)
	fails := 0
	check := func(s string) {
		if fails < 10 && !matchesReference(t, s) {
			fails++
		}
	}
	for _, s := range corpus {
		check(s)
	}
	r := rand.New(rand.NewPCG(0x10c7e3, 0x1a7e))
	const rounds = 100_000
	for range rounds {
		check(randomPieces(r))
		check(randomAlphabet(r))
		check(mutate(r, corpus[r.IntN(len(corpus))]))
	}
	for range rounds / 10 {
		check(randomBytes(r))
		check(mutate(r, randomPieces(r)))
	}
}

// TestWordSetsMatchReference checks the open-addressed sets against the
// reference's map-based ones: members in any case, near misses and random
// strings.
func TestWordSetsMatchReference(t *testing.T) {
	sets := []struct {
		name string
		got  *set
		want *refSet
	}{
		{"digitWords", digitWords, refDigitWords}, {"dateWords", dateWords, refDateWords},
		{"unitWords", unitWords, refUnitWords}, {"userStopWords", userStopWords, refUserStopWords},
		{"forStopWords", forStopWords, refForStopWords}, {"authWords", authWords, refAuthWords},
		{"messageKeys", messageKeys, refMessageKeys}, {"codeRoots", codeRoots, refCodeRoots},
		{"sourceExts", sourceExts, refSourceExts}, {"httpMethods", httpMethods, refHttpMethods},
	}
	r := rand.New(rand.NewPCG(5, 7))
	for _, ts := range sets {
		var probes []string
		for w := range ts.want.words {
			probes = append(probes, w, strings.ToUpper(w), strings.ToUpper(w[:1])+w[1:], w+"s", w[1:], w[:len(w)-1],
				w[:len(w)-1]+"x", "x"+w[1:], w+strings.Repeat("a", 24))
		}
		probes = append(probes, diffPieces...)
		for range 20_000 {
			probes = append(probes, randomAlphabet(r))
		}
		for _, p := range probes {
			if got, want := ts.got.has(p), ts.want.has(p); got != want {
				t.Errorf("%s.has(%q) = %v, reference %v", ts.name, p, got, want)
			}
		}
	}
}

func FuzzNormalizeMatchesReference(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, s := range fuzzRegressions {
		f.Add(s)
	}
	for _, tc := range templateCases {
		f.Add(tc.in)
	}
	f.Add("Operation12 failed: timeout after 412ms calling host-3:8042 (request 1a2b3c)")
	f.Fuzz(func(t *testing.T, body string) {
		matchesReference(t, body)
	})
}

// BenchmarkNormalizeReference runs the frozen reference over the corpus of
// BenchmarkNormalize, so one run shows the speed-up on the same machine.
func BenchmarkNormalizeReference(b *testing.B) {
	lines := benchCorpus(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hashSink += refNormalize(lines[i%len(lines)]).Hash
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
