package httpapiemu

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// methods API Gateway accepts in a route key.
var validMethods = []string{"ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

type segmentKind int

// Ordered from most to least specific.
const (
	literalSegment segmentKind = iota
	paramSegment
	greedySegment
)

type segment struct {
	kind  segmentKind
	value string // literal text, or the variable name
}

// route is a validated Route.
type route struct {
	Route
	key      string // route key, e.g. "GET /v1/users/{id}"
	segments []segment
}

func compileRoute(r Route) (*route, error) {
	method := strings.ToUpper(strings.TrimSpace(r.Method))
	if !slices.Contains(validMethods, method) {
		return nil, fmt.Errorf("httpapiemu: route %q %q: unsupported method", r.Method, r.Path)
	}
	if r.Function == "" {
		return nil, fmt.Errorf("httpapiemu: route %s %s: empty Function", method, r.Path)
	}
	if !strings.HasPrefix(r.Path, "/") {
		return nil, fmt.Errorf("httpapiemu: route %s %q: path must start with /", method, r.Path)
	}
	rt := &route{Route: r, key: method + " " + r.Path}
	rt.Method = method
	if r.Path == "/" {
		return rt, nil
	}
	seen := map[string]bool{}
	parts := strings.Split(r.Path[1:], "/")
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("httpapiemu: route %s: empty path segment", rt.key)
		}
		if !strings.ContainsAny(p, "{}") {
			rt.segments = append(rt.segments, segment{literalSegment, p})
			continue
		}
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") {
			return nil, fmt.Errorf("httpapiemu: route %s: a path variable must be a whole segment", rt.key)
		}
		name, greedy := strings.CutSuffix(p[1:len(p)-1], "+")
		if !validParamName(name) {
			return nil, fmt.Errorf("httpapiemu: route %s: invalid path variable %q", rt.key, p)
		}
		if seen[name] {
			return nil, fmt.Errorf("httpapiemu: route %s: path variable %q used twice", rt.key, name)
		}
		seen[name] = true
		kind := paramSegment
		if greedy {
			if i != len(parts)-1 {
				return nil, fmt.Errorf("httpapiemu: route %s: greedy path variable must be last", rt.key)
			}
			kind = greedySegment
		}
		rt.segments = append(rt.segments, segment{kind, name})
	}
	return rt, nil
}

func validParamName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		ok := c == '_' || c == '-' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}

// shape identifies routes that would match exactly the same requests:
// variable names don't matter.
func (rt *route) shape() string {
	var b strings.Builder
	b.WriteString(rt.Method)
	b.WriteByte(' ')
	for _, s := range rt.segments {
		b.WriteByte('/')
		switch s.kind {
		case literalSegment:
			b.WriteString(s.value)
		case paramSegment:
			b.WriteString("{}")
		case greedySegment:
			b.WriteString("{+}")
		}
	}
	return b.String()
}

// match matches the route's path against the request's raw path segments
// (still percent-encoded) and returns the decoded path parameters.
func (rt *route) match(raw []string) (params map[string]string, ok bool) {
	for i, s := range rt.segments {
		if s.kind == greedySegment {
			if i >= len(raw) {
				return nil, false
			}
			rest := strings.Join(raw[i:], "/")
			if rest == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s.value] = unescapePath(rest)
			return params, true
		}
		if i >= len(raw) {
			return nil, false
		}
		seg := unescapePath(raw[i])
		switch s.kind {
		case literalSegment:
			if seg != s.value {
				return nil, false
			}
		case paramSegment:
			if seg == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s.value] = seg
		}
	}
	if len(raw) != len(rt.segments) {
		return nil, false
	}
	return params, true
}

// moreSpecific reports whether a should win over b when both match: the
// path is compared segment by segment (literal over {param} over {proxy+},
// longer over shorter), then an explicit method wins over ANY.
func moreSpecific(a, b *route) bool {
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		if c := cmp.Compare(a.segments[i].kind, b.segments[i].kind); c != 0 {
			return c < 0
		}
	}
	if len(a.segments) != len(b.segments) {
		return len(a.segments) > len(b.segments)
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

// splitRawPath splits an escaped path such as "/a/b%2Fc" into raw segments.
// The root path "/" has no segments.
func splitRawPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func unescapePath(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
