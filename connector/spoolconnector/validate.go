package spoolconnector

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// What the spool writes is read back by pdata's protobuf decoder, which
// gives up on values nested deeper than its recursion limit: every message
// it enters on the way down to a value counts — the attribute (KeyValue),
// the value (AnyValue), a map (KeyValueList) or list (ArrayValue) in it,
// and so on — and entering one at depth protoRecursionLimit fails. OTLP/JSON
// and in-memory pdata carry any depth, so a request the receivers accept
// could not be read back from the spool; it is refused instead, before it
// is acknowledged.
const protoRecursionLimit = 100

// nestingError says where a value nests too deep.
type nestingError struct {
	where string // "log record 3 of scope 0 of resource 1"
	what  string // `attribute "payload"` or "body"
	maps  int    // maps and lists on the way to the deepest value
}

func (e *nestingError) Error() string {
	return fmt.Sprintf("%s: %s nests %d maps and lists within each other, deeper than the %d levels of protobuf nesting the collector can store and read back (about 32 levels of maps, 49 of lists): flatten it, e.g. send the inner part as a JSON string",
		e.where, e.what, e.maps, protoRecursionLimit)
}

// valueFits reports whether v, entered at depth d, decodes.
func valueFits(v pcommon.Value, d int) bool {
	if d >= protoRecursionLimit {
		return false
	}
	switch v.Type() {
	case pcommon.ValueTypeMap:
		// A KeyValueList at d+1, its KeyValues at d+2, their values at d+3.
		m := v.Map()
		if d+1 >= protoRecursionLimit || (m.Len() > 0 && d+2 >= protoRecursionLimit) {
			return false
		}
		ok := true
		m.Range(func(_ string, e pcommon.Value) bool {
			ok = valueFits(e, d+3)
			return ok
		})
		return ok
	case pcommon.ValueTypeSlice:
		// An ArrayValue at d+1, its values at d+2.
		if d+1 >= protoRecursionLimit {
			return false
		}
		s := v.Slice()
		for i := range s.Len() {
			if !valueFits(s.At(i), d+2) {
				return false
			}
		}
	}
	return true
}

// attrsFit checks a map of attributes: each KeyValue is entered at depth 0,
// its value at 1.
func attrsFit(m pcommon.Map, where func() string) error {
	var err error
	m.Range(func(k string, v pcommon.Value) bool {
		if t := v.Type(); t != pcommon.ValueTypeMap && t != pcommon.ValueTypeSlice {
			return true
		}
		if !valueFits(v, 1) {
			err = &nestingError{where: where(), what: fmt.Sprintf("attribute %q", k), maps: deepest(v)}
			return false
		}
		return true
	})
	return err
}

// deepest counts the maps and lists on v's deepest path.
func deepest(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		n := 0
		v.Map().Range(func(_ string, e pcommon.Value) bool {
			n = max(n, deepest(e))
			return true
		})
		return n + 1
	case pcommon.ValueTypeSlice:
		n := 0
		for i := range v.Slice().Len() {
			n = max(n, deepest(v.Slice().At(i)))
		}
		return n + 1
	}
	return 0
}

func resourceFits(r pcommon.Resource, i int) error {
	return attrsFit(r.Attributes(), func() string { return fmt.Sprintf("resource %d", i) })
}

func scopeFits(s pcommon.InstrumentationScope, i, j int) error {
	return attrsFit(s.Attributes(), func() string { return fmt.Sprintf("scope %d of resource %d", j, i) })
}

// validateLogs refuses logs the spool could not read back.
func validateLogs(ld plog.Logs) error {
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		if err := resourceFits(rl.Resource(), i); err != nil {
			return err
		}
		for j := range rl.ScopeLogs().Len() {
			sl := rl.ScopeLogs().At(j)
			if err := scopeFits(sl.Scope(), i, j); err != nil {
				return err
			}
			recs := sl.LogRecords()
			for k := range recs.Len() {
				lr := recs.At(k)
				where := func() string { return fmt.Sprintf("log record %d of scope %d of resource %d", k, j, i) }
				if err := attrsFit(lr.Attributes(), where); err != nil {
					return err
				}
				// The body is an AnyValue entered at depth 0.
				if b := lr.Body(); b.Type() == pcommon.ValueTypeMap || b.Type() == pcommon.ValueTypeSlice {
					if !valueFits(b, 0) {
						return &nestingError{where: where(), what: "the body", maps: deepest(b)}
					}
				}
			}
		}
	}
	return nil
}

// validateTraces refuses traces the spool could not read back.
func validateTraces(td ptrace.Traces) error {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		if err := resourceFits(rs.Resource(), i); err != nil {
			return err
		}
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j)
			if err := scopeFits(ss.Scope(), i, j); err != nil {
				return err
			}
			spans := ss.Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				where := func() string { return fmt.Sprintf("span %d of scope %d of resource %d", k, j, i) }
				if err := attrsFit(sp.Attributes(), where); err != nil {
					return err
				}
				for e := range sp.Events().Len() {
					if err := attrsFit(sp.Events().At(e).Attributes(), func() string { return fmt.Sprintf("event %d of %s", e, where()) }); err != nil {
						return err
					}
				}
				for l := range sp.Links().Len() {
					if err := attrsFit(sp.Links().At(l).Attributes(), func() string { return fmt.Sprintf("link %d of %s", l, where()) }); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// validateMetrics refuses metrics the spool could not read back.
func validateMetrics(md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		if err := resourceFits(rm.Resource(), i); err != nil {
			return err
		}
		for j := range rm.ScopeMetrics().Len() {
			sm := rm.ScopeMetrics().At(j)
			if err := scopeFits(sm.Scope(), i, j); err != nil {
				return err
			}
			ms := sm.Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				where := func() string { return fmt.Sprintf("metric %q (%d of scope %d of resource %d)", m.Name(), k, j, i) }
				if err := attrsFit(m.Metadata(), where); err != nil {
					return err
				}
				if err := pointsFit(m, where); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func pointsFit(m pmetric.Metric, where func() string) error {
	check := func(attrs pcommon.Map, exemplars pmetric.ExemplarSlice, p int) error {
		at := func() string { return fmt.Sprintf("data point %d of %s", p, where()) }
		if err := attrsFit(attrs, at); err != nil {
			return err
		}
		for e := range exemplars.Len() {
			if err := attrsFit(exemplars.At(e).FilteredAttributes(), func() string { return fmt.Sprintf("exemplar %d of %s", e, at()) }); err != nil {
				return err
			}
		}
		return nil
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for p := range m.Gauge().DataPoints().Len() {
			dp := m.Gauge().DataPoints().At(p)
			if err := check(dp.Attributes(), dp.Exemplars(), p); err != nil {
				return err
			}
		}
	case pmetric.MetricTypeSum:
		for p := range m.Sum().DataPoints().Len() {
			dp := m.Sum().DataPoints().At(p)
			if err := check(dp.Attributes(), dp.Exemplars(), p); err != nil {
				return err
			}
		}
	case pmetric.MetricTypeHistogram:
		for p := range m.Histogram().DataPoints().Len() {
			dp := m.Histogram().DataPoints().At(p)
			if err := check(dp.Attributes(), dp.Exemplars(), p); err != nil {
				return err
			}
		}
	case pmetric.MetricTypeExponentialHistogram:
		for p := range m.ExponentialHistogram().DataPoints().Len() {
			dp := m.ExponentialHistogram().DataPoints().At(p)
			if err := check(dp.Attributes(), dp.Exemplars(), p); err != nil {
				return err
			}
		}
	case pmetric.MetricTypeSummary:
		for p := range m.Summary().DataPoints().Len() {
			if err := check(m.Summary().DataPoints().At(p).Attributes(), pmetric.NewExemplarSlice(), p); err != nil {
				return err
			}
		}
	}
	return nil
}
