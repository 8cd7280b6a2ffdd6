// Whole-word shapes: UUIDs, colon-joined hex groups (MAC, IPv6,
// hh:mm:ss), host names with a digit and e-mail addresses.

package logtemplate

import (
	"strings"
)

// shape recognises whole words whose parts look like words but are
// instance data: UUIDs, colon-separated hex (MAC, IPv6, clock times),
// e-mail addresses and host names that contain digits.
func (n *normalizer) shape(i, hi int) (int, bool) {
	if end := uuidEnd(n.src, i, hi); end > 0 {
		n.placeholder()
		return end, true
	}
	// Hex groups end at their first ':', where neither a host name (which
	// needs two dots) nor an e-mail address (which needs '@') can go on, so
	// at most one of the two matches and the order of the tests is free.
	if end, ok := n.hexColon(i, hi); ok {
		return end, true
	}
	return n.hostOrEmail(i, hi)
}

// hexColon masks colon-joined hex groups at i (see hexColonEnd).
func (n *normalizer) hexColon(i, hi int) (int, bool) {
	if end, ok := hexColonEnd(n.src, i, hi); ok {
		n.placeholder()
		return end, true
	}
	return i, false
}

// hostOrEmail masks an e-mail address or a host name with a digit at i
// (see hostOrEmailEnd).
func (n *normalizer) hostOrEmail(i, hi int) (int, bool) {
	hostEnd, hostOK, emailEnd := hostOrEmailEnd(n.src, i, hi)
	switch {
	case emailEnd > 0:
		n.placeholder()
		return emailEnd, true
	case hostOK:
		n.placeholder()
		return hostEnd, true
	}
	return i, false
}

func uuidEnd(src string, i, hi int) int {
	const l = 36
	if hi-i < l {
		return 0
	}
	for k := 0; k < l; k++ {
		b := src[i+k]
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if b != '-' {
				return 0
			}
		} else if class[b]&cHex == 0 {
			return 0
		}
	}
	if wordGoesOn(src, i+l, hi) {
		return 0
	}
	return i + l
}

// hexColonEnd matches groups of at most four hex digits joined by at least
// two colons with at least one decimal digit: MAC addresses, IPv6 and
// hh:mm:ss times. The run crosses ':' and so may be re-scanned from each
// group; the length cap (longer than any IPv6 text form) keeps that linear.
func hexColonEnd(src string, i, hi int) (int, bool) {
	colons, group, digits := 0, 0, 0
	if hi > i+maxHexColon {
		hi = i + maxHexColon
	}
	j := i
	for ; j < hi; j++ {
		b := src[j]
		if b == ':' {
			colons++
			group = 0
			continue
		}
		f := class[b]
		if f&cHex == 0 {
			break
		}
		if f&cDigit != 0 {
			digits++
		}
		group++
		if group > 4 {
			return j, false
		}
	}
	if wordGoesOn(src, j, hi) {
		return j, false
	}
	for j > i && src[j-1] == ':' {
		j-- // see trimOpeners
		colons--
	}
	return j, colons >= 2 && digits > 0
}

// hostOrEmailEnd scans a dotted name. A host name counts as instance data
// when any label has a digit (ip-10-0-0-5.ec2.internal, web-42.example.com);
// service names without digits (api.example.com) are kept.
func hostOrEmailEnd(src string, i, hi int) (hostEnd int, hostOK bool, emailEnd int) {
	j, dots, hostChars := i, 0, true
	for ; j < hi; j++ {
		f := class[src[j]]
		if f&cEmail == 0 {
			break
		}
		if f&cAlnum == 0 {
			switch src[j] {
			case '.':
				dots++
			case '_', '%', '+':
				hostChars = false
			}
		}
	}
	if j < hi && src[j] == '@' {
		if j > i {
			e := j + 1
			for e < hi && class[src[e]]&cHost != 0 {
				e++
			}
			if okDomain(src[j+1:e], false) && !wordGoesOn(src, e, hi) {
				emailEnd = e
			}
		}
		return j, false, emailEnd
	}
	if !hostChars || dots < 2 || j < hi && src[j] == '(' || wordGoesOn(src, j, hi) {
		return j, false, 0
	}
	for j > i && src[j-1] == '.' {
		j--
	}
	return j, okDomain(src[i:j], true), 0
}

// okDomain checks the domain of an e-mail address (host=false) or a host
// name (host=true). Host names need two dots, a lowercase alphabetic last
// label of TLD length, a first label that is not a code package root
// (org.apache..., com.example...) and a digit somewhere.
func okDomain(s string, host bool) bool {
	dots := strings.Count(s, ".")
	if dots < 1 || host && dots < 2 {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if len(last) < 2 || len(last) > 10 && host {
		return false
	}
	for k := 0; k < len(last); k++ {
		if class[last[k]]&cLower == 0 && (host || class[last[k]]&cUpper == 0) {
			return false
		}
	}
	if !host {
		return !strings.Contains(s, "..")
	}
	if strings.Contains(s, "..") || s[0] == '.' || s[0] == '-' {
		return false
	}
	first := s[:strings.IndexByte(s, '.')]
	if codeRoots.has(first) {
		return false
	}
	for k := 0; k < len(s); k++ {
		if class[s[k]]&cDigit != 0 {
			return true
		}
	}
	return false
}
