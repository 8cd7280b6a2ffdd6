package mcp

import (
	"context"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The seed plan's three agent scenarios (§6.2), in English and Korean.
type scenarioPrompt struct {
	name, title, description string
	args                     []*sdk.PromptArgument
	// text is the user message; {name} placeholders take the arguments.
	text     string
	defaults map[string]string
}

var serviceArg = &sdk.PromptArgument{Name: "service", Description: "the service whose errors rose, e.g. payment"}
var windowArg = &sdk.PromptArgument{Name: "window", Description: "how far back to look, e.g. 1h, 15m"}
var errorArg = &sdk.PromptArgument{Name: "error", Description: "the error to search for, e.g. NullPointerException", Required: true}

var scenarioPrompts = []scenarioPrompt{
	{
		name: "error_spike_root_cause", title: "Root cause of an error spike",
		description: "Scenario 1: errors of a service spiked — find the root cause, its evidence and how it was fixed before.",
		args:        []*sdk.PromptArgument{serviceArg, windowArg},
		defaults:    map[string]string{"service": "payment", "window": "1h"},
		text: `Errors in the {service} service spiked over the last {window}. Find the root cause.
1. Call error_summary (service={service}, window={window}) to see what fails and since when.
2. Call analyze_root_cause (service={service}, window={window}). Take the top candidates and their evidence: where the failure starts (the deepest failing span), how it propagates to {service}, when it started, and the pool/heap metrics.
3. Check the top candidate on one example trace with get_trace.
4. Call find_similar_errors with the cause's error message to see whether it happened before, and match_error_patterns for the known root cause and resolution.
5. Report: the root cause (service, component, mechanism), the evidence with numbers and times, the propagation path, and the resolution used before. Say how confident you are and what would confirm it.`,
	},
	{
		name: "error_spike_root_cause_ko", title: "에러 급증 근본 원인 분석",
		description: "시나리오 1: 서비스의 에러가 급증했을 때 근본 원인과 근거, 과거 해결책을 찾습니다.",
		args:        []*sdk.PromptArgument{serviceArg, windowArg},
		defaults:    map[string]string{"service": "payment", "window": "1h"},
		text: `지난 {window} 동안 {service} 서비스에서 에러가 급증했어. 원인 분석해줘.
1. error_summary (service={service}, window={window})로 어떤 에러가 언제부터 늘었는지 확인해.
2. analyze_root_cause (service={service}, window={window})를 호출해서 상위 후보와 근거를 봐: 장애가 시작된 가장 깊은 실패 span, {service}까지 전파된 경로, 시작 시각, 커넥션 풀·힙 메트릭.
3. 예시 트레이스 하나를 get_trace로 열어 1순위 후보를 확인해.
4. 원인 에러 메시지로 find_similar_errors를 호출해 과거에도 있었는지 보고, match_error_patterns로 알려진 근본 원인과 해결책을 찾아.
5. 한국어로 보고해: 근본 원인(서비스, 구성요소, 메커니즘), 수치와 시각이 포함된 근거, 전파 경로, 과거 해결책. 확신도와 확인 방법도 말해줘.`,
	},
	{
		name: "anomaly_scan", title: "Scan for abnormal patterns",
		description: "Scenario 2: is anything abnormal right now? Anomalous traces, their sessions and what they have in common.",
		args:        []*sdk.PromptArgument{windowArg},
		defaults:    map[string]string{"window": "15m"},
		text: `Check whether the system shows abnormal patterns over the last {window}.
1. Call detect_anomalous_traces (window={window}) and group the top traces by anomaly type and span sequence (retries, unusual sequences, latency outliers, errors).
2. Open the most anomalous ones with get_trace; for traces started in a browser, call get_session to see what the user did.
3. Call error_summary (window={window}) to see whether errors rose at the same time, and analyze_root_cause if they did.
4. Report each abnormal pattern: what is unusual (with numbers against normal), how many traces show it, example trace ids, and the likely cause.`,
	},
	{
		name: "anomaly_scan_ko", title: "이상 패턴 탐지",
		description: "시나리오 2: 지금 시스템에 비정상적인 패턴이 있는지 확인합니다.",
		args:        []*sdk.PromptArgument{windowArg},
		defaults:    map[string]string{"window": "15m"},
		text: `지난 {window} 동안 시스템에 비정상적인 패턴이 있는지 확인해줘.
1. detect_anomalous_traces (window={window})를 호출하고 상위 트레이스를 이상 유형과 span 시퀀스(재시도, 비정상 순서, 지연, 에러)별로 묶어.
2. 가장 이상한 트레이스를 get_trace로 열고, 브라우저에서 시작된 트레이스라면 get_session으로 사용자가 무엇을 했는지 확인해.
3. error_summary (window={window})로 같은 시기에 에러가 늘었는지 보고, 늘었다면 analyze_root_cause를 호출해.
4. 한국어로 보고해: 이상 패턴마다 무엇이 평소와 다른지(수치 비교), 해당 트레이스 수, 예시 trace id, 추정 원인.`,
	},
	{
		name: "similar_error_search", title: "Find errors like this one",
		description: "Scenario 3: natural-language search for past errors similar to a given one.",
		args:        []*sdk.PromptArgument{errorArg, windowArg},
		defaults:    map[string]string{"window": "7d"},
		text: `Find error logs similar to "{error}" over the last {window}.
1. Call find_similar_errors (text="{error}", window={window}).
2. For the closest hits, call match_error_patterns to see known causes and resolutions, and open one example trace with get_trace if it helps.
3. Report the similar errors: when (first/last seen), which service, how often, how close (distance), and what they have in common.`,
	},
	{
		name: "similar_error_search_ko", title: "유사 에러 로그 검색",
		description: "시나리오 3: 자연어로 비슷한 과거 에러 로그를 찾습니다.",
		args:        []*sdk.PromptArgument{errorArg, windowArg},
		defaults:    map[string]string{"window": "7d"},
		text: `"{error}"와 비슷한 에러 로그를 지난 {window} 범위에서 찾아줘.
1. find_similar_errors (text="{error}", window={window})를 호출해.
2. 가장 가까운 결과는 match_error_patterns로 알려진 원인과 해결책을 확인하고, 필요하면 예시 트레이스를 get_trace로 열어.
3. 한국어로 보고해: 유사한 에러마다 언제(처음/마지막), 어느 서비스, 얼마나 자주, 얼마나 가까운지(distance), 공통점.`,
	},
}

func (s *Server) addPrompts() {
	for _, sp := range scenarioPrompts {
		sp := sp
		s.mcp.AddPrompt(&sdk.Prompt{Name: sp.name, Title: sp.title, Description: sp.description, Arguments: sp.args},
			func(_ context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
				text := sp.text
				for _, a := range sp.args {
					v := strings.TrimSpace(req.Params.Arguments[a.Name])
					if v == "" {
						v = sp.defaults[a.Name]
					}
					if v == "" && a.Required {
						return nil, userErrorf("prompt %s needs the argument %q", sp.name, a.Name)
					}
					text = strings.ReplaceAll(text, "{"+a.Name+"}", v)
				}
				return &sdk.GetPromptResult{
					Description: sp.description,
					Messages:    []*sdk.PromptMessage{{Role: "user", Content: &sdk.TextContent{Text: text}}},
				}, nil
			})
	}
}
