package sesemu

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// SES's mailbox simulator: mail to these addresses at
// simulator.amazonses.com is accepted and then has the outcome its name
// says, with the events SES publishes for it. A "+label" after the name is
// allowed, as on SES. Every other address is delivered (to the outbox).
const simulatorDomain = "simulator.amazonses.com"

// outcome is what happens to a message for one recipient after SES
// accepted it.
type outcome int

const (
	delivered  outcome = iota // Delivery
	bounced                   // Bounce: Permanent, General
	complained                // Delivery, then Complaint
	suppressed                // Bounce: Permanent, OnAccountSuppressionList (never sent)
)

func outcomeOf(address string) outcome {
	local, domain, ok := strings.Cut(strings.ToLower(address), "@")
	if !ok || domain != simulatorDomain {
		return delivered
	}
	local, _, _ = strings.Cut(local, "+")
	switch local {
	case "bounce":
		return bounced
	case "complaint":
		return complained
	case "suppressionlist":
		return suppressed
	}
	// success@ is delivered; so is ooto@, whose out-of-office answer goes
	// to the sender's mailbox and is no event.
	return delivered
}

// The event-publishing JSON SES sends to an SNS destination; fields as
// documented for the "eventType" format (not the older notification
// format's "notificationType").
type sesEvent struct {
	EventType string          `json:"eventType"`
	Mail      eventMail       `json:"mail"`
	Delivery  *eventDelivery  `json:"delivery,omitempty"`
	Bounce    *eventBounce    `json:"bounce,omitempty"`
	Complaint *eventComplaint `json:"complaint,omitempty"`
}

type eventMail struct {
	Timestamp        string              `json:"timestamp"`
	Source           string              `json:"source"`
	SourceArn        string              `json:"sourceArn"`
	SendingAccountID string              `json:"sendingAccountId"`
	MessageID        string              `json:"messageId"`
	Destination      []string            `json:"destination"`
	HeadersTruncated bool                `json:"headersTruncated"`
	Headers          []eventHeader       `json:"headers"`
	CommonHeaders    eventCommonHeaders  `json:"commonHeaders"`
	Tags             map[string][]string `json:"tags"`
}

type eventHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type eventCommonHeaders struct {
	From      []string `json:"from,omitempty"`
	To        []string `json:"to,omitempty"`
	MessageID string   `json:"messageId,omitempty"`
	Subject   string   `json:"subject,omitempty"`
}

type eventDelivery struct {
	Timestamp            string   `json:"timestamp"`
	ProcessingTimeMillis int      `json:"processingTimeMillis"`
	Recipients           []string `json:"recipients"`
	SMTPResponse         string   `json:"smtpResponse"`
	ReportingMTA         string   `json:"reportingMTA"`
}

type eventBounce struct {
	FeedbackID        string              `json:"feedbackId"`
	BounceType        string              `json:"bounceType"`
	BounceSubType     string              `json:"bounceSubType"`
	BouncedRecipients []eventBouncedRecip `json:"bouncedRecipients"`
	Timestamp         string              `json:"timestamp"`
	ReportingMTA      string              `json:"reportingMTA,omitempty"`
}

type eventBouncedRecip struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action,omitempty"`
	Status         string `json:"status,omitempty"`
	DiagnosticCode string `json:"diagnosticCode,omitempty"`
}

type eventComplaint struct {
	FeedbackID            string              `json:"feedbackId"`
	ComplainedRecipients  []eventBouncedRecip `json:"complainedRecipients"`
	Timestamp             string              `json:"timestamp"`
	UserAgent             string              `json:"userAgent"`
	ComplaintFeedbackType string              `json:"complaintFeedbackType"`
	ArrivalDate           string              `json:"arrivalDate"`
}

// sesTime is how SES writes times in events.
const sesTime = "2006-01-02T15:04:05.000Z"

// publish hands the message's events, per recipient, to the topics of its
// configuration set that take their type.
func (h *Server) publish(ctx context.Context, out *outgoing, messageID string, now time.Time) error {
	dests := h.opts.ConfigurationSets[out.configSet]
	if out.configSet == "" || len(dests) == 0 || h.opts.Publish == nil {
		return nil
	}
	mailObj := h.mailObject(out, messageID, now)
	at := now.Add(500 * time.Millisecond).UTC().Format(sesTime)
	var evs []sesEvent
	for _, rcpt := range out.destinations {
		addr := rcpt
		if a, err := mail.ParseAddress(rcpt); err == nil {
			addr = a.Address
		}
		deliveryEv := sesEvent{EventType: "Delivery", Mail: mailObj, Delivery: &eventDelivery{
			Timestamp: at, ProcessingTimeMillis: 500, Recipients: []string{addr},
			SMTPResponse: "250 2.6.0 Message received", ReportingMTA: "a1-1.smtp-out.local.amazonses.com",
		}}
		switch outcomeOf(addr) {
		case delivered:
			evs = append(evs, deliveryEv)
		case complained:
			evs = append(evs, deliveryEv, sesEvent{EventType: "Complaint", Mail: mailObj, Complaint: &eventComplaint{
				FeedbackID: feedbackID(now), ComplainedRecipients: []eventBouncedRecip{{EmailAddress: addr}},
				Timestamp: at, UserAgent: "Amazon SES Mailbox Simulator", ComplaintFeedbackType: "abuse", ArrivalDate: at,
			}})
		case bounced:
			evs = append(evs, sesEvent{EventType: "Bounce", Mail: mailObj, Bounce: &eventBounce{
				FeedbackID: feedbackID(now), BounceType: "Permanent", BounceSubType: "General", Timestamp: at,
				ReportingMTA:      "dns; local.amazonses.com",
				BouncedRecipients: []eventBouncedRecip{{EmailAddress: addr, Action: "failed", Status: "5.1.1", DiagnosticCode: "smtp; 550 5.1.1 user unknown"}},
			}})
		case suppressed:
			evs = append(evs, sesEvent{EventType: "Bounce", Mail: mailObj, Bounce: &eventBounce{
				FeedbackID: feedbackID(now), BounceType: "Permanent", BounceSubType: "OnAccountSuppressionList", Timestamp: at,
				BouncedRecipients: []eventBouncedRecip{{EmailAddress: addr, Action: "failed", Status: "5.1.1",
					DiagnosticCode: "Amazon SES did not send the message to this address because it is on the suppression list for your account."}},
			}})
		}
	}
	for _, ev := range evs {
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		for _, d := range dests {
			if !slices.Contains(d.Events, strings.ToLower(ev.EventType)) {
				continue
			}
			if err := h.opts.Publish(ctx, d.Topic, data); err != nil {
				return fmt.Errorf("sesemu: publish %s event to %s: %w", ev.EventType, d.Topic, err)
			}
			h.mu.Lock()
			h.stats.Events++
			h.mu.Unlock()
		}
	}
	return nil
}

// mailObject is the "mail" part every event of the message shares.
func (h *Server) mailObject(out *outgoing, messageID string, now time.Time) eventMail {
	m := eventMail{
		Timestamp: now.UTC().Format(sesTime), Source: out.source, SendingAccountID: h.opts.AccountID,
		MessageID: messageID, Destination: out.destinations, Headers: []eventHeader{}, Tags: map[string][]string{},
	}
	domain := out.source[strings.LastIndexByte(out.source, '@')+1:]
	m.SourceArn = fmt.Sprintf("arn:aws:ses:%s:%s:identity/%s", h.opts.Region, h.opts.AccountID, domain)
	dec := new(mime.WordDecoder)
	names := make([]string, 0, len(out.headers))
	for name := range out.headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.HasPrefix(name, "X-Local-Ses-") || strings.HasPrefix(strings.ToUpper(name), "X-SES-") {
			continue
		}
		for _, v := range out.headers[name] {
			m.Headers = append(m.Headers, eventHeader{Name: name, Value: v})
		}
	}
	decoded := func(name string) string {
		v := out.headers.Get(name)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	if v := decoded("From"); v != "" {
		m.CommonHeaders.From = []string{v}
	}
	if v := decoded("To"); v != "" {
		m.CommonHeaders.To = []string{v}
	}
	m.CommonHeaders.MessageID, m.CommonHeaders.Subject = out.headers.Get("Message-ID"), decoded("Subject")
	// SES's own tags, then the sender's.
	m.Tags["ses:configuration-set"] = []string{out.configSet}
	m.Tags["ses:source-ip"] = []string{"127.0.0.1"}
	m.Tags["ses:from-domain"] = []string{domain}
	m.Tags["ses:caller-identity"] = []string{"local"}
	for _, t := range out.tags {
		m.Tags[t[0]] = []string{t[1]}
	}
	return m
}

func feedbackID(now time.Time) string {
	return fmt.Sprintf("0100%012x-%s-000000", now.UnixMilli(), hostos.UUID())
}
