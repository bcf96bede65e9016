package sesmailer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"

	"github.com/libaccounts/libaccounts/internal/accounts"
	"github.com/libaccounts/libaccounts/internal/devstack/sesemu"
	"github.com/libaccounts/libaccounts/internal/sesmailer"
)

const from = "no-reply@accounts.example.org"

// secret stands for a reset link's token: it may be in the body and nowhere
// else.
const secret = "tok_3f9a1c7e5b2d8046"

// sesClient is the real SDK client pointed at endpoint, without retries.
func sesClient(tb testing.TB, endpoint string) *ses.Client {
	tb.Helper()
	return ses.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}, func(o *ses.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
}

// localSES starts the dev stack's SES endpoint and returns a mailer on it
// and the outbox directory.
func localSES(tb testing.TB) (*sesmailer.Mailer, string) {
	tb.Helper()
	dir := tb.TempDir()
	srv := httptest.NewServer(sesemu.New(dir))
	tb.Cleanup(srv.Close)
	return sesmailer.New(sesClient(tb, srv.URL), from), dir
}

// onlyMessage reads the single .eml in dir.
func onlyMessage(tb testing.TB, dir string) (*mail.Message, []byte) {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 1 {
		tb.Fatalf("outbox holds %q (%v), want one message", files, err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		tb.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("parse: %v\n%s", err, data)
	}
	return msg, data
}

func decodeHeader(tb testing.TB, v string) string {
	tb.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		tb.Fatalf("decode %q: %v", v, err)
	}
	return s
}

func TestSendWritesTheMessage(t *testing.T) {
	body := "Hello Zoë,\n\nReset your password: https://accounts.example.org/reset#" + secret + "\n" +
		strings.Repeat("A long line that quoted-printable must soft-wrap = ", 4) + "\n" +
		"trailing space \nTschüss — 図書館\n"
	cases := []struct {
		name       string
		senderName string
		subject    string
		tag        string
		wantFrom   string // the raw header, when it is predictable
		wantSESTag string
	}{
		{"ascii", "KPU Library", "Reset your password", "password-reset-link", `"KPU Library" <` + from + `>`, "kind=password-reset-link"},
		{"utf-8 name and subject", "Bibliothèque Université", "Réinitialisez votre mot de passe — ça presse", "password-reset", "", "kind=password-reset"},
		{"utf-8 name with specials", "Bibliothèque (Centre), \"Ville\"", "図書館からのお知らせ", "job-finished", "", "kind=job-finished"},
		{"ascii name with quotes", `The "Best" Library \ Annex`, "Plain", "job-finished", `"The \"Best\" Library \\ Annex" <` + from + `>`, "kind=job-finished"},
		{"long utf-8 name", strings.Repeat("図書館 ", 49) + "終", "Plain", "job-finished", "", "kind=job-finished"},
		{"no sender name", "", "Plain", "", from, ""},
		{"long ascii subject", "L", strings.Repeat("word ", 40) + "end", "password-reset", "", "kind=password-reset"},
		{"subject that looks encoded", "L", "=?utf-8?q?not_decoded?= and  two spaces ", "password-reset", "", "kind=password-reset"},
		{"tag SES refuses", "L", "Plain", "job finished!", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, dir := localSES(t)
			_, err := m.Send(context.Background(), accounts.Message{To: "zoe@example.org", SenderName: tc.senderName, Subject: tc.subject, Text: body, Tag: tc.tag})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msg, data := onlyMessage(t, dir)

			// The mailer's part of the file: after the local SES's envelope.
			own := data[bytes.Index(data, []byte("From: ")):]
			if bytes.Contains(bytes.ReplaceAll(own, []byte("\r\n"), nil), []byte("\n")) || bytes.Contains(bytes.ReplaceAll(own, []byte("\r\n"), nil), []byte("\r")) {
				t.Error("the message has a bare LF or CR")
			}
			head := own[:bytes.Index(own, []byte("\r\n\r\n"))]
			for _, line := range strings.Split(string(head), "\r\n") {
				if len(line) > 998 || (len(line) > 78 && !strings.HasPrefix(line, "From: ")) {
					t.Errorf("header line of %d characters: %q", len(line), line)
				}
			}
			if bytes.Contains(head, []byte(secret)) {
				t.Error("the token is in a header")
			}

			if tc.wantFrom != "" {
				if got := msg.Header.Get("From"); got != tc.wantFrom {
					t.Errorf("From = %q, want %q", got, tc.wantFrom)
				}
			}
			fromAddr, err := mail.ParseAddress(msg.Header.Get("From"))
			if err != nil || fromAddr.Name != tc.senderName || fromAddr.Address != from {
				t.Errorf("From parses to %+v, %v; want %q <%s>", fromAddr, err, tc.senderName, from)
			}
			if got := decodeHeader(t, msg.Header.Get("Subject")); got != strings.TrimSpace(tc.subject) && got != tc.subject {
				t.Errorf("Subject decodes to %q, want %q", got, tc.subject)
			}
			if tc.name == "subject that looks encoded" {
				if got := decodeHeader(t, msg.Header.Get("Subject")); got != tc.subject {
					t.Errorf("Subject decodes to %q, want exactly %q", got, tc.subject)
				}
			}
			if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "zoe@example.org" {
				t.Errorf("To = %v, %v", to, err)
			}
			if d, err := msg.Header.Date(); err != nil || time.Since(d) > time.Minute {
				t.Errorf("Date = %v, %v", d, err)
			}
			if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@accounts.example.org>") || len(id) < 30 {
				t.Errorf("Message-ID = %q", id)
			}
			for k, want := range map[string]string{
				"MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "quoted-printable",
				"X-Libaccounts-Tag": tc.tag,
				// What the SDK carried to SES, recorded by the local SES.
				"X-Local-Ses-Source": from, "X-Local-Ses-Destinations": "zoe@example.org", "X-Local-Ses-Tags": tc.wantSESTag,
			} {
				if got := msg.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			got, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.ReplaceAll(body, "\n", "\r\n"); string(got) != want {
				t.Errorf("body decodes to\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// stubAPI is an API whose answer a test sets.
type stubAPI struct {
	send  func(context.Context, *ses.SendRawEmailInput) (*ses.SendRawEmailOutput, error)
	calls int
}

func (s *stubAPI) SendRawEmail(ctx context.Context, in *ses.SendRawEmailInput, _ ...func(*ses.Options)) (*ses.SendRawEmailOutput, error) {
	s.calls++
	return s.send(ctx, in)
}

func okAPI() *stubAPI {
	return &stubAPI{send: func(context.Context, *ses.SendRawEmailInput) (*ses.SendRawEmailOutput, error) {
		return &ses.SendRawEmailOutput{MessageId: aws.String("id")}, nil
	}}
}

func validMessage() accounts.Message {
	return accounts.Message{To: "zoe@example.org", SenderName: "KPU Library", Subject: "Reset", Text: "link " + secret, Tag: "password-reset-link"}
}

func TestSendRefusesHeaderInjection(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*accounts.Message)
		field string
	}{
		{"CRLF in To", func(m *accounts.Message) { m.To = "zoe@example.org\r\nBcc: all@example.org" }, "to"},
		{"LF in To", func(m *accounts.Message) { m.To = "zoe@example.org\nBcc: all@example.org" }, "to"},
		{"display name in To", func(m *accounts.Message) { m.To = "Zoe <zoe@example.org>" }, "to"},
		{"angle brackets in To", func(m *accounts.Message) { m.To = "<zoe@example.org>" }, "to"},
		{"comment in To", func(m *accounts.Message) { m.To = "zoe@example.org (Zoe)" }, "to"},
		{"two addresses in To", func(m *accounts.Message) { m.To = "zoe@example.org, eve@example.org" }, "to"},
		{"space around To", func(m *accounts.Message) { m.To = " zoe@example.org" }, "to"},
		{"non-ASCII To", func(m *accounts.Message) { m.To = "zoë@example.org" }, "to"},
		{"empty To", func(m *accounts.Message) { m.To = "" }, "to"},
		{"CR in SenderName", func(m *accounts.Message) { m.SenderName = "KPU\rBcc: all@example.org" }, "senderName"},
		{"LF in SenderName", func(m *accounts.Message) { m.SenderName = "KPU\nBcc: all@example.org" }, "senderName"},
		{"tab in SenderName", func(m *accounts.Message) { m.SenderName = "KPU\tLibrary" }, "senderName"},
		{"CRLF in Subject", func(m *accounts.Message) { m.Subject = "Reset\r\nBcc: all@example.org" }, "subject"},
		{"LF in Subject", func(m *accounts.Message) { m.Subject = "Reset\nX: y" }, "subject"},
		{"LF in Tag", func(m *accounts.Message) { m.Tag = "kind\nBcc: all@example.org" }, "tag"},
		{"invalid UTF-8 subject", func(m *accounts.Message) { m.Subject = "\xff" }, "subject"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := okAPI()
			msg := validMessage()
			tc.edit(&msg)
			_, err := sesmailer.New(api, from).Send(context.Background(), msg)
			if !accounts.IsCode(err, accounts.CodeInvalid) || accounts.PublicField(err) != tc.field {
				t.Fatalf("Send = %v (field %q), want invalid %s", err, accounts.PublicField(err), tc.field)
			}
			if api.calls != 0 {
				t.Error("SES was called")
			}
			if strings.Contains(err.Error(), "all@example.org") || strings.Contains(err.Error(), secret) {
				t.Errorf("the error echoes the input: %v", err)
			}
		})
	}
}

func TestSendPassesTheEnvelope(t *testing.T) {
	var got *ses.SendRawEmailInput
	api := okAPI()
	inner := api.send
	api.send = func(ctx context.Context, in *ses.SendRawEmailInput) (*ses.SendRawEmailOutput, error) {
		got = in
		return inner(ctx, in)
	}
	if _, err := sesmailer.New(api, from).Send(context.Background(), validMessage()); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Source) != from || len(got.Destinations) != 1 || got.Destinations[0] != "zoe@example.org" {
		t.Errorf("source %q, destinations %q", aws.ToString(got.Source), got.Destinations)
	}
	if len(got.Tags) != 1 || aws.ToString(got.Tags[0].Name) != sesmailer.TagName || aws.ToString(got.Tags[0].Value) != "password-reset-link" {
		t.Errorf("tags = %+v", got.Tags)
	}
}

func TestSendMapsSESErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want accounts.Code
	}{
		{"Throttling", &smithy.GenericAPIError{Code: "Throttling", Message: "Maximum sending rate exceeded."}, accounts.CodeUnavailable},
		{"daily quota", &smithy.GenericAPIError{Code: "Throttling", Message: "Daily message quota exceeded."}, accounts.CodeUnavailable},
		{"MaxSendingRateExceeded", &smithy.GenericAPIError{Code: "MaxSendingRateExceeded"}, accounts.CodeUnavailable},
		{"ThrottlingException", &smithy.GenericAPIError{Code: "ThrottlingException"}, accounts.CodeUnavailable},
		{"ServiceUnavailable", &smithy.GenericAPIError{Code: "ServiceUnavailable", Fault: smithy.FaultServer}, accounts.CodeUnavailable},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), accounts.CodeUnavailable},
		{"MessageRejected", &types.MessageRejected{Message: aws.String("Email address is not verified.")}, accounts.CodeInternal},
		{"MailFromDomainNotVerified", &types.MailFromDomainNotVerifiedException{}, accounts.CodeInternal},
		{"AccountSendingPaused", &types.AccountSendingPausedException{}, accounts.CodeInternal},
		{"InvalidParameterValue", &smithy.GenericAPIError{Code: "InvalidParameterValue"}, accounts.CodeInternal},
		{"unknown API error", &smithy.GenericAPIError{Code: "SomethingNew"}, accounts.CodeInternal},
		{"plain error", errors.New("boom"), accounts.CodeInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := &stubAPI{send: func(context.Context, *ses.SendRawEmailInput) (*ses.SendRawEmailOutput, error) { return nil, tc.err }}
			_, err := sesmailer.New(api, from).Send(context.Background(), validMessage())
			if got := accounts.ErrorCode(err); got != tc.want {
				t.Fatalf("Send = %v: code %s, want %s", err, got, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("the cause %v is not in the chain of %v", tc.err, err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "link ") {
				t.Errorf("the error carries the body: %v", err)
			}
			if tc.want == accounts.CodeInternal && accounts.PublicMessage(err) != "internal error" {
				t.Errorf("public message %q", accounts.PublicMessage(err))
			}
		})
	}
}

// TestSendThrottledThroughTheSDK maps what the real client makes of SES's
// throttling answer.
func TestSendThrottledThroughTheSDK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`)
	}))
	t.Cleanup(srv.Close)
	_, err := sesmailer.New(sesClient(t, srv.URL), from).Send(context.Background(), validMessage())
	if !accounts.IsCode(err, accounts.CodeUnavailable) {
		t.Fatalf("Send = %v, want unavailable", err)
	}
}

func TestSendWithABadSenderAddress(t *testing.T) {
	for _, addr := range []string{"", "not an address", "Name <no-reply@example.org>", "no-reply@example.org\r\nBcc: x@example.org"} {
		api := okAPI()
		_, err := sesmailer.New(api, addr).Send(context.Background(), validMessage())
		if !accounts.IsCode(err, accounts.CodeInternal) || api.calls != 0 {
			t.Errorf("New(%q).Send = %v after %d calls, want internal before any", addr, err, api.calls)
		}
	}
}

// TestSendClassifiesSESErrors is the table of SES's answers (as the real
// client reads them off the wire) and whether the pipeline may retry them.
func TestSendClassifiesSESErrors(t *testing.T) {
	cases := []struct {
		code      string
		status    int
		permanent bool
		want      accounts.Code
	}{
		{"Throttling", 400, false, accounts.CodeUnavailable},
		{"MaxSendingRateExceeded", 400, false, accounts.CodeUnavailable},
		{"LimitExceededException", 400, false, accounts.CodeUnavailable},
		{"ServiceUnavailable", 503, false, accounts.CodeUnavailable},
		{"InternalFailure", 500, false, accounts.CodeUnavailable},
		{"MessageRejected", 400, true, accounts.CodeInternal},
		{"MailFromDomainNotVerifiedException", 400, true, accounts.CodeInternal},
		{"AccountSendingPausedException", 400, true, accounts.CodeInternal},
		{"ConfigurationSetSendingPausedException", 400, true, accounts.CodeInternal},
		{"ConfigurationSetDoesNotExistException", 400, true, accounts.CodeInternal},
		{"InvalidParameterValue", 400, true, accounts.CodeInternal},
		{"SomethingNew", 400, false, accounts.CodeInternal},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>%s</Code><Message>Email address is not verified: zoe@example.org</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, tc.code)
			}))
			t.Cleanup(srv.Close)
			_, err := sesmailer.New(sesClient(t, srv.URL), from).Send(context.Background(), validMessage())
			var me *accounts.MailError
			if !errors.As(err, &me) {
				t.Fatalf("Send = %v, want a MailError", err)
			}
			if me.Permanent != tc.permanent || accounts.ErrorCode(err) != tc.want {
				t.Errorf("%s: permanent %v code %s, want %v %s", tc.code, me.Permanent, accounts.ErrorCode(err), tc.permanent, tc.want)
			}
			if me.Reason == "" || strings.Contains(me.Reason, "zoe@example.org") || strings.Contains(me.Reason, secret) {
				t.Errorf("reason %q: empty, or carries the address or body", me.Reason)
			}
			if calls != 1 {
				t.Errorf("SES was called %d times; the client must not retry", calls)
			}
		})
	}
}

func TestSendTagsTheMessageAndReturnsItsID(t *testing.T) {
	var got *ses.SendRawEmailInput
	api := &stubAPI{send: func(_ context.Context, in *ses.SendRawEmailInput) (*ses.SendRawEmailOutput, error) {
		got = in
		return &ses.SendRawEmailOutput{MessageId: aws.String("0100-abc")}, nil
	}}
	msg := validMessage()
	msg.Tags = map[string]string{"tenant": "kpu", "user": "abc", "notice": "0f", "bad tag": "x", "kind": "overridden"}
	id, err := sesmailer.New(api, from).WithConfigurationSet("libaccounts-events").Send(context.Background(), msg)
	if err != nil || id != "0100-abc" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	if aws.ToString(got.ConfigurationSetName) != "libaccounts-events" {
		t.Errorf("configuration set %q", aws.ToString(got.ConfigurationSetName))
	}
	var tags []string
	for _, tg := range got.Tags {
		tags = append(tags, aws.ToString(tg.Name)+"="+aws.ToString(tg.Value))
	}
	if want := "kind=password-reset-link notice=0f tenant=kpu user=abc"; strings.Join(tags, " ") != want {
		t.Errorf("tags %q, want %q", strings.Join(tags, " "), want)
	}
}

func TestRefusedInputIsPermanent(t *testing.T) {
	msg := validMessage()
	msg.To = "not an address"
	_, err := sesmailer.New(okAPI(), from).Send(context.Background(), msg)
	var me *accounts.MailError
	if !errors.As(err, &me) || !me.Permanent || !accounts.IsCode(err, accounts.CodeInvalid) {
		t.Fatalf("Send = %v, want a permanent invalid MailError", err)
	}
}
