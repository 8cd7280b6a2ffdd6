// Package logtemplate turns a log body into a template and a stable 64-bit
// hash, so that occurrences of the same event with different ids, numbers,
// addresses or timings share one hash while different events do not.
//
//	Normalize("dial tcp 10.0.0.5:5432: connect: connection refused")
//	  -> Template "dial tcp <*>: connect: connection refused"
//
// # Approach
//
// Normalize is a single left-to-right scan with no regular expressions and
// no state kept between calls, so it can run on every error log of a
// collector pipeline (about half a microsecond and one allocation for a
// typical line) and gives the same template in every process. Each masked
// span becomes the placeholder "<*>"; placeholders separated only by whitespace
// or separators (. , : ; - _ / + # = @ | \ ~) merge into one, so an
// IPv4:port, a timestamp or a list of ids becomes a single "<*>" however
// many parts it has.
//
// The scanner reads whitespace-separated fields and, inside them, words.
// In order of precedence:
//
//   - Quoted text: a single plain word or number in quotes is a value
//     ("bob", '42') and is masked; code identifiers ("String.length()",
//     'orders_pkey'), paths, URLs, keys ({"id": ...}) and text with spaces
//     (a nested error message) are normalised like the rest of the line.
//   - Paths: an absolute or relative file system path is masked whole,
//     because its directories are deployment detail (user, job and mount
//     names) that often carry no digit. A trailing source file name
//     (handler.go, Foo.java) is kept as a code location. A path after an
//     HTTP method is a URL route and only its id segments are masked.
//   - key=value: the key is kept and the value masked whole, except for
//     keys that hold the message itself (msg, error, reason, ...).
//   - Whole-word shapes: UUIDs; colon-joined hex groups (MAC, IPv6,
//     hh:mm:ss); e-mail addresses; host names with a digit in some label
//     (ip-10-0-0-5.ec2.internal). Host names without digits
//     (api.example.com) usually name a service and are kept.
//   - Identifiers joined by '_' or '-': if any part is variable the whole
//     word is masked (rdd_42_7, attempt_1445_0020_m_000002_0, web-7f9c-xk2lp),
//     since its fixed parts only name the kind of id.
//   - Runs of letters and digits: pure numbers and words mixing letters and
//     digits are masked (0x1f, 250ms, 12KB, 4bf92f35...), except technical
//     names (int64, x509, sha256, utf8, v1) and camelCase code names with
//     one short number (Slf4jLogger, HttpServer2). Words that only vary
//     together with a number are folded into its placeholder: units after
//     a number ("330.0 KB", "15 ms") and month or weekday names next to a
//     date's numbers ("Thu Aug 04 15:29:45").
//   - Account names: the word after "user"/"username", and the word after
//     "for" in a message about authentication ("Failed password for root").
//
// Everything else (message words, exception class names, punctuation) is
// copied. Whitespace runs collapse to one space and control characters
// count as whitespace, so a multi-line stack trace becomes one line.
//
// # Guarantees
//
// Any input, including invalid UTF-8 and NUL bytes, gives a valid UTF-8
// template (invalid bytes become U+FFFD). Work is linear in the input:
// every look-ahead is confined to one word or bounded by a constant, and
// the two that are not (quotes, paths) remember where an earlier look-ahead
// failed. Normalize is idempotent: normalising a template returns it
// unchanged. That constrains every rule (a placeholder must be read the way
// the text it replaced was read, see wordGoesOn and trimOpeners); run
// FuzzNormalize after changing one. The hash is FNV-1a 64 of the template (HashTemplate), so it is
// stable across processes, machines and Go versions; any change to the
// rules above changes some templates and therefore their hashes. Changes
// meant only for speed must keep every template byte for byte:
// TestNormalizeMatchesReference and FuzzNormalizeMatchesReference compare
// Normalize with a frozen copy of the rules in reference_test.go.
//
// # Online mining
//
// Masks alone fit the systems they were written for: a value no rule
// recognises (a user name, a host, an enum) splits an event into as many
// templates as it has values. Miner (miner.go) therefore clusters what the
// masks leave, online, in the way of Drain: lines are routed by token
// count and their first MinerConfig.Depth words (words with a digit or a
// placeholder share one branch) to a bounded set of candidate templates; a
// line sharing at least MinerConfig.Similarity of a template's words joins
// it. Unlike Drain, a differing word does not become a placeholder at once:
// a position keeps each of up to MinerConfig.MaxValues distinct words in a
// template of its own (words that distinguish events take few values,
// values take many, the frequency intuition of Brain and ByteBrain), and
// becomes a placeholder past that, or at once when one of its words carries
// a digit or a placeholder. A masked line already matched is answered from
// a cache (LILAC's parsing cache), so a repeated line costs one map
// look-up after Normalize. Templates only widen, so a template's old hashes
// can be re-pointed at its new one (Match.Replaces); stored templates can
// be learned again (Miner.Learn), which is how a restarted collector, or
// one sharing a database with others, arrives at the same templates.
// Memory is bounded (MinerConfig: templates, candidates per leaf, cache,
// masked line length), and so is the number of templates a flood of lines
// like no other can add (a budget of new templates, past which such lines
// wait on probation under OverflowTemplate); README.md lists every bound.
//
// TestLoghubLeaveOneSystemOut scores the miner on each public Loghub
// system with the settings that do best on the other six, behind Normalize
// and behind a digits-only mask (a stand-in for a system whose values the
// masks do not know); it prints grouping and parsing accuracy.
//
// # Measured quality
//
// TestLoghubGroupingAccuracy measures Loghub grouping accuracy on the
// labelled Loghub-2.0 2k samples. The rules are generic; none is keyed to
// a system in that data, though the account-name rules carry most of the
// OpenSSH score (0.58 without them, 0.96 with). The lines still grouped
// wrongly need knowledge a
// lexical rule cannot have: words that are values without looking like
// values (enum values, class names used as parameters, user names outside
// an authentication phrase, key names that vary under a fixed prefix).
package logtemplate
