package clickhousevectorexporter

import (
	"regexp"
	"strings"
)

// userAgentInfo is what otel_sessions keeps of a browser's User-Agent.
type userAgentInfo struct {
	device  string // desktop, mobile, tablet, bot
	os      string // e.g. "Windows", "macOS", "iOS 17.4", "Android 14", "Linux"
	browser string // e.g. "Chrome 131", "Firefox 128", "Safari 17"
}

var (
	reAndroid = regexp.MustCompile(`Android (\d+(?:\.\d+)?)`)
	reIOS     = regexp.MustCompile(`(?:iPhone|CPU) OS (\d+)_(\d+)`)
	reBot     = regexp.MustCompile(`(?i)bot\b|crawler|spider|slurp|curl/|wget/|python-requests|go-http-client`)
	browsers  = []struct {
		name string
		re   *regexp.Regexp
	}{
		// Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
		{"Edge", regexp.MustCompile(`Edg(?:e|A|iOS)?/(\d+)`)},
		{"Opera", regexp.MustCompile(`(?:OPR|Opera)/(\d+)`)},
		{"Samsung Internet", regexp.MustCompile(`SamsungBrowser/(\d+)`)},
		{"Firefox", regexp.MustCompile(`(?:Firefox|FxiOS)/(\d+)`)},
		{"Chrome Headless", regexp.MustCompile(`HeadlessChrome/(\d+)`)},
		{"Chrome", regexp.MustCompile(`(?:Chrome|CriOS)/(\d+)`)},
		{"Safari", regexp.MustCompile(`Version/(\d+)[^ ]* (?:Mobile/\S+ )?Safari/`)},
		{"Internet Explorer", regexp.MustCompile(`(?:MSIE |Trident/.*rv:)(\d+)`)},
	}
)

// parseUserAgent reads the device kind, OS and browser from a User-Agent
// with simple rules that cover the common browsers; anything else is
// "Other" (and "" for an empty User-Agent).
func parseUserAgent(ua string) userAgentInfo {
	if strings.TrimSpace(ua) == "" {
		return userAgentInfo{}
	}
	info := userAgentInfo{device: "desktop", os: "Other", browser: "Other"}
	switch {
	case strings.Contains(ua, "iPad"):
		info.os, info.device = iosVersion(ua), "tablet"
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPod"):
		info.os, info.device = iosVersion(ua), "mobile"
	case strings.Contains(ua, "Android"):
		info.os = "Android"
		if m := reAndroid.FindStringSubmatch(ua); m != nil {
			info.os = "Android " + m[1]
		}
		info.device = "tablet"
		if strings.Contains(ua, "Mobile") {
			info.device = "mobile"
		}
	case strings.Contains(ua, "Windows"):
		info.os = "Windows"
	case strings.Contains(ua, "CrOS"):
		info.os = "ChromeOS"
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		info.os = "macOS"
	case strings.Contains(ua, "Linux") || strings.Contains(ua, "X11"):
		info.os = "Linux"
	}
	if info.device == "desktop" && (strings.Contains(ua, "Mobi") || strings.Contains(ua, "Windows Phone")) {
		info.device = "mobile"
	}
	if reBot.MatchString(ua) {
		info.device = "bot"
	}
	for _, b := range browsers {
		if m := b.re.FindStringSubmatch(ua); m != nil {
			info.browser = b.name + " " + m[1]
			break
		}
	}
	return info
}

func iosVersion(ua string) string {
	if m := reIOS.FindStringSubmatch(ua); m != nil {
		return "iOS " + m[1] + "." + m[2]
	}
	return "iOS"
}
