package sesemu

import (
	"encoding/json"
	"net/http"
	"net/mail"
	"regexp"
	"sort"
	"strings"
)

// Injected faults: tests make the next sends to an address fail with an
// SES error code, to meet throttling, outages and permanent refusals the
// way the notices worker meets them on AWS.

// injected is one pending fault.
type injected struct {
	Address string `json:"address"`
	Code    string `json:"code"`
	Count   int    `json:"count"` // sends still to fail
}

// faultCode is what an SES error code looks like.
var faultCode = regexp.MustCompile(`^[A-Z][A-Za-z]{1,63}$`)

// serverFaults are the codes SES answers with a 5xx.
var serverFaults = map[string]int{
	"InternalFailure":    http.StatusInternalServerError,
	"InternalError":      http.StatusInternalServerError,
	"ServiceUnavailable": http.StatusServiceUnavailable,
}

// faultMessages are SES's own messages for the codes tests use most.
var faultMessages = map[string]string{
	"Throttling":                             "Maximum sending rate exceeded.",
	"MessageRejected":                        "Email address is not verified.",
	"MailFromDomainNotVerifiedException":     "The MAIL FROM domain is not verified.",
	"AccountSendingPausedException":          "Sending is paused for this account.",
	"ConfigurationSetSendingPausedException": "Sending is paused for this configuration set.",
	"InvalidParameterValue":                  "Illegal address",
	"ServiceUnavailable":                     "Service is unavailable.",
	"InternalFailure":                        "The request processing has failed because of an unknown error.",
}

// takeFault returns the fault the next send to address meets, if any;
// h.mu is held.
func (h *Server) takeFault(address string) *sesFault {
	key := strings.ToLower(address)
	if a, err := parseBare(address); err == nil {
		key = strings.ToLower(a)
	}
	pending := h.faults[key]
	if len(pending) == 0 {
		return nil
	}
	f := pending[0]
	if f.Count--; f.Count <= 0 {
		pending = pending[1:]
	}
	if len(pending) == 0 {
		delete(h.faults, key)
	} else {
		h.faults[key] = pending
	}
	status := http.StatusBadRequest
	if s, ok := serverFaults[f.Code]; ok {
		status = s
	}
	msg, ok := faultMessages[f.Code]
	if !ok {
		msg = "Fault injected by the local SES."
	}
	return &sesFault{status: status, code: f.Code, message: msg}
}

// FaultsHandler serves the fault injector: POST {"address", "code",
// "count"} makes the next count sends (default 1) to address fail with
// code; GET lists the pending faults; DELETE clears them. Mount it on the
// stack's local-only routes, never on the gateway.
func (h *Server) FaultsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			var f injected
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&f); err != nil {
				writeLocalJSON(w, http.StatusBadRequest, map[string]string{"message": "the body must be {\"address\", \"code\", \"count\"}: " + err.Error()})
				return
			}
			if f.Count == 0 {
				f.Count = 1
			}
			addr, err := parseBare(f.Address)
			switch {
			case err != nil:
				writeLocalJSON(w, http.StatusBadRequest, map[string]string{"message": "address: want one e-mail address such as reader@example.org"})
				return
			case !faultCode.MatchString(f.Code):
				writeLocalJSON(w, http.StatusBadRequest, map[string]string{"message": "code: want an SES error code such as Throttling, MessageRejected or ServiceUnavailable"})
				return
			case f.Count < 1 || f.Count > 10000:
				writeLocalJSON(w, http.StatusBadRequest, map[string]string{"message": "count: want 1 to 10000"})
				return
			}
			f.Address = strings.ToLower(addr)
			h.mu.Lock()
			h.faults[f.Address] = append(h.faults[f.Address], &injected{Address: f.Address, Code: f.Code, Count: f.Count})
			h.mu.Unlock()
			writeLocalJSON(w, http.StatusCreated, f)
		case http.MethodGet:
			h.mu.Lock()
			list := []injected{}
			for _, fs := range h.faults {
				for _, f := range fs {
					list = append(list, *f)
				}
			}
			h.mu.Unlock()
			sort.SliceStable(list, func(i, j int) bool { return list[i].Address < list[j].Address })
			writeLocalJSON(w, http.StatusOK, list)
		case http.MethodDelete:
			h.mu.Lock()
			h.faults = map[string][]*injected{}
			h.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			writeLocalJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "GET, POST or DELETE"})
		}
	})
}

// StatsHandler serves Stats as JSON (GET).
func (h *Server) StatsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeLocalJSON(w, http.StatusOK, h.Stats()) })
}

// parseBare returns the bare address of one RFC 5322 address.
func parseBare(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

func writeLocalJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
