package s3emu

import (
	"net/http"
	"strconv"
	"strings"
)

// CORSRule is one rule of a bucket's CORS configuration, as in
// AWS::S3::Bucket CorsConfiguration.CorsRules.
type CORSRule struct {
	AllowedOrigins []string // each with at most one "*"
	AllowedMethods []string // GET, PUT, HEAD, POST, DELETE
	AllowedHeaders []string // each with at most one "*"; case-insensitive
	ExposedHeaders []string
	MaxAge         int // seconds; 0 sends none
}

// preflight answers a CORS preflight (OPTIONS) as S3 does: the first rule
// that allows the origin, the method and every requested header answers
// 200 with what it allows; anything else is 403.
func (s *Server) preflight(w http.ResponseWriter, req *request) {
	origin := req.r.Header.Get("Origin")
	method := req.r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		s.writeError(w, req, &s3Error{status: http.StatusBadRequest, code: "BadRequest", message: "Insufficient information. Origin request header needed."})
		return
	}
	rules := s.cors[req.bucket]
	if req.bucket == "" || !s.bucketExists(req.bucket) {
		s.writeError(w, req, errNoSuchBucket(req.bucket))
		return
	}
	if len(rules) == 0 {
		s.writeError(w, req, &s3Error{status: http.StatusForbidden, code: "AccessForbidden", message: "CORSResponse: CORS is not enabled for this bucket."})
		return
	}
	var requested []string
	for _, v := range req.r.Header.Values("Access-Control-Request-Headers") {
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
				requested = append(requested, h)
			}
		}
	}
	for _, rule := range rules {
		if !rule.allows(origin, method) || !rule.allowsHeaders(requested) {
			continue
		}
		h := w.Header()
		rule.setOrigin(h, origin)
		h.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
		if len(requested) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(requested, ", "))
		}
		if rule.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(rule.MaxAge))
		}
		h.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	s.writeError(w, req, &s3Error{status: http.StatusForbidden, code: "AccessForbidden",
		message: "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."})
}

// corsHeaders adds the CORS headers of the first rule matching the actual
// request's Origin and method, so a browser lets the page read the answer
// (its error answers too).
func (s *Server) corsHeaders(w http.ResponseWriter, req *request) {
	origin := req.r.Header.Get("Origin")
	if origin == "" {
		return
	}
	for _, rule := range s.cors[req.bucket] {
		if !rule.allows(origin, req.r.Method) {
			continue
		}
		h := w.Header()
		rule.setOrigin(h, origin)
		h.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
		if len(rule.ExposedHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposedHeaders, ", "))
		}
		if rule.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(rule.MaxAge))
		}
		h.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
		return
	}
}

func (r CORSRule) setOrigin(h http.Header, origin string) {
	for _, o := range r.AllowedOrigins {
		if o == "*" {
			h.Set("Access-Control-Allow-Origin", "*")
			return
		}
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
}

func (r CORSRule) allows(origin, method string) bool {
	okOrigin := false
	for _, o := range r.AllowedOrigins {
		if wildcardMatch(o, origin, false) {
			okOrigin = true
			break
		}
	}
	if !okOrigin {
		return false
	}
	for _, m := range r.AllowedMethods {
		if m == method {
			return true
		}
	}
	return false
}

func (r CORSRule) allowsHeaders(requested []string) bool {
	for _, h := range requested {
		ok := false
		for _, a := range r.AllowedHeaders {
			if wildcardMatch(a, h, true) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// wildcardMatch matches s against a pattern with at most one "*".
func wildcardMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	before, after, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}
