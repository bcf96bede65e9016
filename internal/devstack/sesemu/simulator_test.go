package sesemu

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
)

// published records what the local SES hands to SNS.
type published struct {
	mu     sync.Mutex
	events []publishedEvent
}

type publishedEvent struct {
	topic string
	event sesEvent
}

func (p *published) publish(_ context.Context, topic string, message []byte) error {
	var ev sesEvent
	if err := json.Unmarshal(message, &ev); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, publishedEvent{topic, ev})
	return nil
}

func (p *published) take() []publishedEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.events
	p.events = nil
	return out
}

type simulatorRig struct {
	srv    *Server
	client *ses.Client
	events *published
	clk    *clock.Fake
}

func newSimulatorRig(tb testing.TB, maxRate float64) *simulatorRig {
	tb.Helper()
	rig := &simulatorRig{events: &published{}, clk: clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	rig.srv = NewServer(Options{
		OutboxDir: filepath.Join(tb.TempDir(), "outbox"),
		ConfigurationSets: map[string][]Destination{
			"notices": {{Topic: "events-topic", Events: []string{"bounce", "complaint", "delivery"}}},
			"bounces": {{Topic: "bounce-topic", Events: []string{"bounce"}}},
		},
		Publish: rig.events.publish, MaxRate: maxRate, Clock: rig.clk,
	})
	mux := http.NewServeMux()
	mux.Handle("POST /_local/ses", rig.srv)
	mux.Handle("/_local/ses/faults", rig.srv.FaultsHandler())
	hs := httptest.NewServer(mux)
	tb.Cleanup(hs.Close)
	rig.client = sesClient(tb, hs.URL+"/_local/ses")
	return rig
}

// send sends a raw message to to through configSet with the notice's tags.
func (rig *simulatorRig) send(to, configSet string, extraHeaders string) (string, error) {
	raw := "From: no-reply@accounts.example.org\r\nTo: " + to + "\r\nSubject: Your reset link\r\n" + extraHeaders +
		"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThe link.\r\n"
	in := &ses.SendRawEmailInput{
		RawMessage: &types.RawMessage{Data: []byte(raw)}, Destinations: []string{to}, Source: aws.String("no-reply@accounts.example.org"),
		Tags: []types.MessageTag{{Name: aws.String("tenant"), Value: aws.String("kpu")}, {Name: aws.String("notice"), Value: aws.String("n1")}},
	}
	if configSet != "" {
		in.ConfigurationSetName = aws.String(configSet)
	}
	out, err := rig.client.SendRawEmail(context.Background(), in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}

func TestMailboxSimulator(t *testing.T) {
	// Each simulator address has SES's outcome, told by the events SES
	// publishes for the configuration set the send named; the events carry
	// the message id, the send's tags and the recipient.
	cases := []struct {
		to   string
		want []string // eventType/bounceType/bounceSubType
	}{
		{"success@simulator.amazonses.com", []string{"Delivery"}},
		{"ooto@simulator.amazonses.com", []string{"Delivery"}},
		{"bounce@simulator.amazonses.com", []string{"Bounce/Permanent/General"}},
		{"Bounce+label-1@simulator.amazonses.com", []string{"Bounce/Permanent/General"}},
		{"complaint@simulator.amazonses.com", []string{"Delivery", "Complaint"}},
		{"suppressionlist@simulator.amazonses.com", []string{"Bounce/Permanent/OnAccountSuppressionList"}},
		{"reader@example.org", []string{"Delivery"}},
	}
	rig := newSimulatorRig(t, 0)
	for _, tc := range cases {
		t.Run(tc.to, func(t *testing.T) {
			id, err := rig.send(tc.to, "notices", "")
			if err != nil {
				t.Fatalf("SendRawEmail: %v", err)
			}
			var got []string
			for _, p := range rig.events.take() {
				ev := p.event
				kind := ev.EventType
				if ev.Bounce != nil {
					kind += "/" + ev.Bounce.BounceType + "/" + ev.Bounce.BounceSubType
					if len(ev.Bounce.BouncedRecipients) != 1 || ev.Bounce.BouncedRecipients[0].EmailAddress != tc.to {
						t.Errorf("bounced recipients %+v, want %s", ev.Bounce.BouncedRecipients, tc.to)
					}
				}
				if ev.Complaint != nil && (len(ev.Complaint.ComplainedRecipients) != 1 || ev.Complaint.ComplainedRecipients[0].EmailAddress != tc.to) {
					t.Errorf("complained recipients %+v, want %s", ev.Complaint.ComplainedRecipients, tc.to)
				}
				if ev.Delivery != nil && (len(ev.Delivery.Recipients) != 1 || ev.Delivery.Recipients[0] != tc.to) {
					t.Errorf("delivery recipients %v, want %s", ev.Delivery.Recipients, tc.to)
				}
				got = append(got, kind)
				if p.topic != "events-topic" {
					t.Errorf("published to %q, want the set's topic", p.topic)
				}
				m := ev.Mail
				if m.MessageID != id || len(m.Destination) != 1 || m.Destination[0] != tc.to || m.Source != "no-reply@accounts.example.org" {
					t.Errorf("mail = %+v, want message %s to %s", m, id, tc.to)
				}
				for k, v := range map[string]string{"tenant": "kpu", "notice": "n1", "ses:configuration-set": "notices"} {
					if len(m.Tags[k]) != 1 || m.Tags[k][0] != v {
						t.Errorf("tags[%s] = %v, want [%s]", k, m.Tags[k], v)
					}
				}
				if m.CommonHeaders.Subject != "Your reset link" {
					t.Errorf("commonHeaders.subject = %q", m.CommonHeaders.Subject)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("events = %v, want %v", got, tc.want)
			}
		})
	}

	// Only the event types a destination matches reach it; a send with no
	// set publishes nothing; a set SES does not know is refused.
	if _, err := rig.send("complaint@simulator.amazonses.com", "bounces", ""); err != nil {
		t.Fatal(err)
	}
	if got := rig.events.take(); len(got) != 0 {
		t.Errorf("a bounce-only destination got %+v", got)
	}
	if _, err := rig.send("bounce@simulator.amazonses.com", "", ""); err != nil {
		t.Fatal(err)
	}
	if got := rig.events.take(); len(got) != 0 {
		t.Errorf("a send without a configuration set published %+v", got)
	}
	_, err := rig.send("success@simulator.amazonses.com", "no-such-set", "")
	if code := apiCode(err); code != "ConfigurationSetDoesNotExist" {
		t.Errorf("unknown set: error %v, want ConfigurationSetDoesNotExist", err)
	}

	// SES takes the set and tags from X-SES-* headers of a raw message too.
	if _, err := rig.send("bounce@simulator.amazonses.com", "", "X-SES-CONFIGURATION-SET: bounces\r\nX-SES-MESSAGE-TAGS: user=u7, notice=ignored\r\n"); err != nil {
		t.Fatal(err)
	}
	got := rig.events.take()
	if len(got) != 1 || got[0].topic != "bounce-topic" || got[0].event.Mail.Tags["user"][0] != "u7" || got[0].event.Mail.Tags["notice"][0] != "n1" {
		t.Errorf("events from X-SES headers = %+v, want one bounce with user=u7 and the parameter's notice=n1", got)
	}
	if _, err := rig.send("a@example.org", "notices", "X-SES-MESSAGE-TAGS: bad tag=x\r\n"); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("malformed X-SES-MESSAGE-TAGS: %v, want InvalidParameterValue", err)
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestMaxSendRate(t *testing.T) {
	// At the account's maximum rate SES answers Throttling; the bucket
	// refills with time (the fake clock's), and a refused send is neither
	// stored nor published.
	rig := newSimulatorRig(t, 2)
	var codes []string
	for range 3 {
		_, err := rig.send("reader@example.org", "notices", "")
		codes = append(codes, apiCode(err))
	}
	if strings.Join(codes, ",") != ",,Throttling" {
		t.Fatalf("three sends at once at 2/s: %q, want two accepted, then Throttling", codes)
	}
	var ae smithy.APIError
	_, err := rig.send("reader@example.org", "notices", "")
	if !errors.As(err, &ae) || ae.ErrorMessage() != "Maximum sending rate exceeded." {
		t.Errorf("throttled message = %v, want SES's", err)
	}
	rig.clk.Advance(500 * time.Millisecond)
	if _, err := rig.send("reader@example.org", "notices", ""); err != nil {
		t.Errorf("after half a second at 2/s: %v, want accepted", err)
	}
	if _, err := rig.send("reader@example.org", "notices", ""); apiCode(err) != "Throttling" {
		t.Errorf("second send in that half second: %v, want Throttling", err)
	}
	if s := rig.srv.Stats(); s.Accepted != 3 || s.Throttled != 3 || s.Events != 3 {
		t.Errorf("stats = %+v, want 3 accepted (3 events), 3 throttled", s)
	}
}

func TestInjectedFaults(t *testing.T) {
	// The next count sends to the address fail with the code, with SES's
	// status (5xx for outages); other addresses are untouched; then sends
	// succeed again.
	rig := newSimulatorRig(t, 0)
	base := strings.TrimSuffix(aws.ToString(rig.client.Options().BaseEndpoint), "/_local/ses")
	post := func(body string) int {
		t.Helper()
		resp, err := http.Post(base+"/_local/ses/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(`{"address":"Reader@Example.org","code":"ServiceUnavailable","count":2}`); got != 201 {
		t.Fatalf("POST fault: %d", got)
	}
	if got := post(`{"address":"reader@example.org","code":"MessageRejected"}`); got != 201 {
		t.Fatalf("POST fault: %d", got)
	}
	for _, bad := range []string{`{"address":"nope","code":"Throttling"}`, `{"address":"a@example.org","code":"not a code"}`,
		`{"address":"a@example.org","code":"Throttling","count":-1}`, `{"address":"a@example.org","code":"Throttling","extra":1}`} {
		if got := post(bad); got != 400 {
			t.Errorf("POST %s: %d, want 400", bad, got)
		}
	}
	if _, err := rig.send("other@example.org", "notices", ""); err != nil {
		t.Errorf("another address: %v", err)
	}
	var got []string
	for range 4 {
		_, err := rig.send("reader@example.org", "notices", "")
		var re interface{ HTTPStatusCode() int }
		status := 200
		if errors.As(err, &re) {
			status = re.HTTPStatusCode()
		}
		got = append(got, apiCode(err)+"/"+http.StatusText(status))
	}
	want := "ServiceUnavailable/Service Unavailable,ServiceUnavailable/Service Unavailable,MessageRejected/Bad Request,/OK"
	if strings.Join(got, ",") != want {
		t.Errorf("sends = %q, want %q", got, want)
	}
	if s := rig.srv.Stats(); s.Injected != 3 || s.Accepted != 2 {
		t.Errorf("stats = %+v, want 3 injected, 2 accepted", s)
	}
}
