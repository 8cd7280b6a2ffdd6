package search

import (
	"regexp"
	"strings"
	"unicode"
)

// stopwords are English function words: they carry no failure and are left
// out of the query's word groups and of lexicon matching. "no" and "not"
// stay: "no route", "not found".
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the of to in on at by for from with and or but nor is are was were be been being am
		it its this that these those as into onto over under about than then so such can could would should will shall may might must
		do does did done has have had i we you they he she them our your their my me us his her there here what which who whom whose
		when where why how all any each some someone something anything while until after before during because if else also just only
		very again once same other own more most keeps keep getting got get gets`) {
		m[w] = true
	}
	return m
}()

// IsStopword reports whether a lower-cased word is an English function word.
func IsStopword(w string) bool { return stopwords[w] }

func isHangul(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Hangul, r) })
}

// koreanEndings are particles and verb endings that follow a Korean noun
// ("연결이", "부족해요", "초과되었습니다"), longest first. Korean writes
// them onto the word, so a query's 연결이 거부됨 and a lexicon's 연결 거부
// meet only once they are cut off.
var koreanEndings = []string{
	"되었습니다", "되었어요", "했습니다", "됐습니다", "하였습니다", "입니다", "습니다", "합니다", "됩니다", "했어요", "되었음", "되어요",
	"으로는", "에서는", "이에요", "해요", "돼요", "예요", "에서", "에게", "으로", "까지", "부터", "처럼", "보다", "이나", "이고", "이며",
	"하는", "되는", "하다", "되다", "했음", "됐음", "되어", "해서", "돼서", "했다", "됐다",
	"이", "가", "을", "를", "은", "는", "의", "에", "와", "과", "도", "로", "만", "요", "함", "됨", "음", "임",
}

// koreanStem cuts particles and endings off a Korean word until none is
// left; other words are returned as they are. It cuts blindly — 초과
// (exceed) loses its 과 as 연결과 (with the connection) does — but the
// same way on both sides of a match, so 시간초과가, 시간 초과 and
// 시간초과 meet.
func koreanStem(w string) string {
	if !isHangul(w) {
		return w
	}
	for {
		cut := false
		for _, e := range koreanEndings {
			if len(w) > len(e) && strings.HasSuffix(w, e) {
				w, cut = w[:len(w)-len(e)], true
				break
			}
		}
		if !cut {
			return w
		}
	}
}

// lightStem folds English inflections for lexicon matching only: "refused",
// "refuse" and "refusing" all become "refus", "timed" and "time" "tim".
// It is deliberately crude; both sides of a match go through it.
func lightStem(w string) string {
	if len(w) <= 3 || isHangul(w) {
		return w
	}
	for _, suf := range []string{"ing", "ed", "es", "s"} {
		if len(w) <= 4 {
			break
		}
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= 3 {
			if suf == "s" && (strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is")) {
				break
			}
			w = w[:len(w)-len(suf)]
			break
		}
	}
	if len(w) > 3 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	return w
}

// queryWord is one word of a query as written, with its parts.
type queryWord struct {
	text  string   // as written
	whole string   // lower-cased
	parts []string // lower-cased parts at case changes, underscores and dots
	// namespace marks a package or namespace segment of a dotted name
	// ("java" and "net" in java.net.ConnectException): it says where a
	// class lives, not what failed.
	namespace bool
}

// dottedName is a qualified name: segments joined by dots.
var dottedName = regexp.MustCompile(`[\p{L}_][\p{L}\p{N}_]*(?:\.[\p{L}_][\p{L}\p{N}_$]*)+`)

// splitWords cuts a query into words the way Terms cuts a document, keeping
// their order.
func splitWords(text string) []queryWord {
	text = placeholder.ReplaceAllString(text, " ")
	// Byte offsets of the namespace segments of dotted names.
	var ns [][2]int
	for _, m := range dottedName.FindAllStringIndex(text, -1) {
		if last := strings.LastIndexByte(text[m[0]:m[1]], '.'); last > 0 {
			ns = append(ns, [2]int{m[0], m[0] + last})
		}
	}
	var out []queryWord
	for _, loc := range word.FindAllStringIndex(text, -1) {
		w := text[loc[0]:loc[1]]
		qw := queryWord{text: w, whole: strings.ToLower(w)}
		for _, r := range ns {
			if loc[0] >= r[0] && loc[1] <= r[1] {
				qw.namespace = true
			}
		}
		split := acronym.ReplaceAllString(camel.ReplaceAllString(w, "$1 $2"), "$1 $2")
		for _, p := range part.FindAllString(strings.ToLower(split), -1) {
			qw.parts = append(qw.parts, p)
		}
		out = append(out, qw)
	}
	return out
}

// partsOf are the lower-cased parts of a text, in order.
func partsOf(text string) []string {
	var out []string
	for _, w := range splitWords(text) {
		out = append(out, w.parts...)
	}
	return out
}
