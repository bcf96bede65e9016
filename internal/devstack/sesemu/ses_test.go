package sesemu

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"
)

// sesClient is the real SDK client, pointed at endpoint with static
// credentials and no retries.
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

// recordingServer serves h behind the mux patterns and records each
// request's method, path and content type.
type recordingServer struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newRecordingServer(tb testing.TB, h http.Handler, patterns ...string) *recordingServer {
	tb.Helper()
	rs := &recordingServer{}
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.Handle(p, h)
	}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.paths = append(rs.paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		rs.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	tb.Cleanup(rs.Close)
	return rs
}

func (rs *recordingServer) requests() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.paths...)
}

func outboxFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatalf("read outbox: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func readMessage(tb testing.TB, path string) (*mail.Message, []byte) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("parse %s: %v\n%s", path, err, data)
	}
	return msg, data
}

const testRaw = "From: \"KPU Library\" <no-reply@accounts.example.org>\r\n" +
	"To: reader@example.org\r\n" +
	"Subject: Hello\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"\r\n" +
	"Body line.\r\n"

// sesPatterns are the mux patterns the local stack should mount the local
// SES at: the SDK sends to BaseEndpoint's path exactly as given (it appends
// nothing for the Query API), so "/_local/ses" and "/_local/ses/" are both
// covered.
var sesPatterns = []string{"POST /_local/ses", "POST /_local/ses/"}

// TestSESSendRawEmailThroughTheSDK is the contract with the unmodified SDK,
// at the root and under a path prefix as the local stack mounts it.
func TestSESSendRawEmailThroughTheSDK(t *testing.T) {
	cases := []struct {
		name           string
		patterns       []string
		base, wantPath string
	}{
		{"root", []string{"/"}, "", "/"},
		{"prefix", []string{"POST /_local/ses"}, "/_local/ses", "/_local/ses"},
		{"prefix with slash", []string{"POST /_local/ses/"}, "/_local/ses/", "/_local/ses/"},
		{"both patterns, no slash", sesPatterns, "/_local/ses", "/_local/ses"},
		{"both patterns, slash", sesPatterns, "/_local/ses/", "/_local/ses/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outbox") // created on first send
			srv := newRecordingServer(t, New(dir), tc.patterns...)
			out, err := sesClient(t, srv.URL+tc.base).SendRawEmail(context.Background(), &ses.SendRawEmailInput{
				RawMessage:   &types.RawMessage{Data: []byte(testRaw)},
				Destinations: []string{"reader@example.org"},
				Source:       aws.String("no-reply@accounts.example.org"),
				Tags:         []types.MessageTag{{Name: aws.String("kind"), Value: aws.String("password-reset-link")}},
			})
			if err != nil {
				t.Fatalf("SendRawEmail: %v (requests %q)", err, srv.requests())
			}
			if got := srv.requests(); len(got) != 1 || got[0] != "POST "+tc.wantPath+" application/x-www-form-urlencoded" {
				t.Fatalf("requests = %q, want one POST %s", got, tc.wantPath)
			}
			id := aws.ToString(out.MessageId)
			files := outboxFiles(t, dir)
			if len(files) != 1 || !strings.HasSuffix(files[0], "-"+id+".eml") {
				t.Fatalf("outbox = %q, want one <timestamp>-%s.eml", files, id)
			}
			info, err := os.Stat(filepath.Join(dir, files[0]))
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("stat = %v, %v; want mode 0600", info, err)
			}
			msg, data := readMessage(t, filepath.Join(dir, files[0]))
			if !bytes.HasSuffix(data, []byte(testRaw)) {
				t.Errorf("stored message does not end with the raw message as sent:\n%s", data)
			}
			for k, want := range map[string]string{
				hdrSESAction: "SendRawEmail", hdrSESSource: "no-reply@accounts.example.org",
				hdrSESDestinations: "reader@example.org", hdrSESTags: "kind=password-reset-link",
				"Subject": "Hello",
			} {
				if got := msg.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestSESEndpointFromTheEnvironment checks the local stack's wiring: a
// function's LoadDefaultConfig picks AWS_ENDPOINT_URL_SES, path included.
func TestSESEndpointFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	srv := newRecordingServer(t, New(dir), sesPatterns...)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SES": srv.URL + "/_local/ses", "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_ENDPOINT_URL": "", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ses.NewFromConfig(cfg).SendRawEmail(context.Background(), &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: []byte(testRaw)}}); err != nil {
		t.Fatalf("SendRawEmail: %v (requests %q)", err, srv.requests())
	}
	if files := outboxFiles(t, dir); len(files) != 1 {
		t.Fatalf("outbox = %q, want one message", files)
	}
	msg, _ := readMessage(t, filepath.Join(dir, outboxFiles(t, dir)[0]))
	if got := msg.Header.Get(hdrSESDestinations); got != "reader@example.org" {
		t.Errorf("destinations from the To header = %q", got)
	}
}

func TestSESSendEmailBuildsTheMessage(t *testing.T) {
	cases := []struct {
		name       string
		text, html *string
		wantType   string
	}{
		{"text", aws.String("Hello\nthere ü"), nil, "text/plain"},
		{"html", nil, aws.String("<p>Hello ü</p>"), "text/html"},
		{"both", aws.String("Hello ü"), aws.String("<p>Hello ü</p>"), "multipart/alternative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			srv := newRecordingServer(t, New(dir), "/")
			subject := "Réinitialisation — mot de passe"
			body := &types.Body{}
			if tc.text != nil {
				body.Text = &types.Content{Data: tc.text, Charset: aws.String("UTF-8")}
			}
			if tc.html != nil {
				body.Html = &types.Content{Data: tc.html}
			}
			_, err := sesClient(t, srv.URL).SendEmail(context.Background(), &ses.SendEmailInput{
				Source: aws.String("KPU Library <no-reply@accounts.example.org>"),
				Destination: &types.Destination{
					ToAddresses: []string{"a@example.org", "b@example.org"}, BccAddresses: []string{"hidden@example.org"},
				},
				Message: &types.Message{Subject: &types.Content{Data: aws.String(subject)}, Body: body},
			})
			if err != nil {
				t.Fatalf("SendEmail: %v", err)
			}
			msg, _ := readMessage(t, filepath.Join(dir, outboxFiles(t, dir)[0]))
			dec := new(mime.WordDecoder)
			if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
				t.Errorf("subject = %q, %v; want %q", got, err, subject)
			}
			if got := msg.Header.Get("To"); got != "a@example.org, b@example.org" {
				t.Errorf("To = %q", got)
			}
			if got := msg.Header.Get("Bcc"); got != "" {
				t.Errorf("Bcc header = %q, want none", got)
			}
			if got := msg.Header.Get(hdrSESDestinations); got != "a@example.org, b@example.org, hidden@example.org" {
				t.Errorf("destinations = %q", got)
			}
			if _, err := msg.Header.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil || mediaType != tc.wantType {
				t.Fatalf("Content-Type = %q, %v; want %s", mediaType, err, tc.wantType)
			}
			var parts []string
			if mediaType == "multipart/alternative" {
				mr := multipart.NewReader(msg.Body, params["boundary"])
				for {
					p, err := mr.NextPart() // decodes quoted-printable itself
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(p)
					parts = append(parts, string(b))
				}
			} else {
				b, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
				parts = append(parts, string(b))
			}
			var want []string
			for _, s := range []*string{tc.text, tc.html} {
				if s != nil {
					want = append(want, strings.ReplaceAll(*s, "\n", "\r\n"))
				}
			}
			if strings.Join(parts, "|") != strings.Join(want, "|") {
				t.Errorf("bodies = %q, want %q", parts, want)
			}
		})
	}
}

// sesErrorCode posts form to the handler and returns the status and the
// error code of its XML answer.
func sesErrorCode(tb testing.TB, h http.Handler, method string, form url.Values) (int, string) {
	tb.Helper()
	req := httptest.NewRequest(method, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var e sesErrorResponse
	if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		tb.Fatalf("answer is not XML: %v\n%s", err, rec.Body)
	}
	if e.XMLName.Space != sesNamespace || e.RequestID == "" {
		tb.Errorf("error answer %+v lacks the SES namespace or a request id", e)
	}
	return rec.Code, e.Error.Code
}

func TestSESRefusesBadRequests(t *testing.T) {
	dir := t.TempDir()
	h := New(dir)
	raw := base64.StdEncoding.EncodeToString([]byte("From: s@example.org\r\n\r\nhi"))
	noFrom := base64.StdEncoding.EncodeToString([]byte("Subject: x\r\n\r\nhi"))
	cases := []struct {
		name       string
		method     string
		form       url.Values
		wantStatus int
		wantCode   string
	}{
		{"unknown action", "POST", url.Values{"Action": {"SendBounce"}, "Version": {sesVersion}}, 400, "InvalidAction"},
		{"no action", "POST", url.Values{"Version": {sesVersion}}, 400, "MissingAction"},
		{"wrong version", "POST", url.Values{"Action": {"SendRawEmail"}, "Version": {"2019-09-27"}}, 400, "NoSuchVersion"},
		{"GET", "GET", url.Values{}, 405, "InvalidAction"},
		{"no data", "POST", url.Values{"Action": {"SendRawEmail"}, "Version": {sesVersion}}, 400, "ValidationError"},
		{"bad base64", "POST", url.Values{"Action": {"SendRawEmail"}, "Version": {sesVersion}, "RawMessage.Data": {"!!"}}, 400, "InvalidParameterValue"},
		{"no from", "POST", url.Values{"Action": {"SendRawEmail"}, "Version": {sesVersion}, "RawMessage.Data": {noFrom}, "Destinations.member.1": {"a@example.org"}}, 400, "MessageRejected"},
		{"no recipients", "POST", url.Values{"Action": {"SendRawEmail"}, "Version": {sesVersion}, "RawMessage.Data": {raw}}, 400, "MessageRejected"},
		{"injected destination", "POST", url.Values{"Action": {"SendRawEmail"}, "Version": {sesVersion}, "RawMessage.Data": {raw}, "Source": {"s@example.org"}, "Destinations.member.1": {"a@example.org\r\nX-Evil: 1"}}, 400, "InvalidParameterValue"},
		{"bad tag", "POST", url.Values{"Action": {"SendRawEmail"}, "Version": {sesVersion}, "RawMessage.Data": {raw}, "Source": {"s@example.org"}, "Destinations.member.1": {"a@example.org"}, "Tags.member.1.Name": {"kind"}, "Tags.member.1.Value": {"a b"}}, 400, "InvalidParameterValue"},
		{"injected subject", "POST", url.Values{"Action": {"SendEmail"}, "Version": {sesVersion}, "Source": {"s@example.org"}, "Destination.ToAddresses.member.1": {"a@example.org"}, "Message.Subject.Data": {"Hi\r\nBcc: x@example.org"}}, 400, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code := sesErrorCode(t, h, tc.method, tc.form)
			if status != tc.wantStatus || code != tc.wantCode {
				t.Errorf("got %d %s, want %d %s", status, code, tc.wantStatus, tc.wantCode)
			}
		})
	}
	if files := outboxFiles(t, dir); len(files) != 0 {
		t.Errorf("refused requests left files: %q", files)
	}

	// The SDK reads the error answer as an API error with its code.
	srv := newRecordingServer(t, h, "/")
	_, err := sesClient(t, srv.URL).SendRawEmail(context.Background(), &ses.SendRawEmailInput{
		RawMessage: &types.RawMessage{Data: []byte("no headers at all")}, Destinations: []string{"a@example.org"},
	})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "MessageRejected" {
		t.Errorf("SDK error = %v, want MessageRejected", err)
	}
	var rejected *types.MessageRejected
	if !errors.As(err, &rejected) {
		t.Errorf("SDK error %T is not *types.MessageRejected", err)
	}
}

// outboxServer mounts the outbox as the local stack does, plus the
// per-message route.
func outboxServer(tb testing.TB, dir string) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	o := &outbox{dir: dir}
	mux.Handle("GET /_local/mail", o)
	mux.Handle("GET /_local/mail/{id}", o)
	for _, p := range sesPatterns {
		mux.Handle(p, New(dir))
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

func get(tb testing.TB, u string) (int, http.Header, []byte) {
	tb.Helper()
	resp, err := http.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestOutboxListsAndServesMail(t *testing.T) {
	dir := t.TempDir()
	srv := outboxServer(t, dir)
	if status, _, body := get(t, srv.URL+"/_local/mail"); status != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("empty outbox: %d %s", status, body)
	}
	client := sesClient(t, srv.URL+"/_local/ses")
	subjects := []string{"Première", "Second", "Third"}
	ids := map[string]string{}
	for i, subject := range subjects {
		raw := "From: =?utf-8?q?Biblioth=C3=A8que?= <no-reply@accounts.example.org>\r\n" +
			"To: reader" + string(rune('a'+i)) + "@example.org\r\n" +
			"Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\n" +
			"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
			"X-Libaccounts-Tag: job-finished\r\n\r\nsecret body\r\n"
		out, err := client.SendRawEmail(context.Background(), &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: []byte(raw)}})
		if err != nil {
			t.Fatal(err)
		}
		ids[subject] = aws.ToString(out.MessageId)
	}
	// A stray file and a temp file are not listed.
	_ = os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, ".ses-1.tmp"), []byte("x"), 0o600)

	status, hdr, body := get(t, srv.URL+"/_local/mail")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("list: %d %s %s", status, hdr.Get("Content-Type"), body)
	}
	if bytes.Contains(body, []byte("secret body")) {
		t.Error("the listing shows message bodies")
	}
	var list []mailEntry
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("list: %v\n%s", err, body)
	}
	if len(list) != len(subjects) {
		t.Fatalf("list has %d entries, want %d: %s", len(list), len(subjects), body)
	}
	for i, e := range list {
		if e.Subject != subjects[i] {
			t.Errorf("entry %d subject = %q, want %q (oldest first)", i, e.Subject, subjects[i])
		}
		if !strings.HasSuffix(e.ID, ids[subjects[i]]) {
			t.Errorf("entry %d id = %q, want it to end with the SES MessageId %q", i, e.ID, ids[subjects[i]])
		}
		if wantTo := "reader" + string(rune('a'+i)) + "@example.org"; e.To != wantTo || e.From != "Bibliothèque <no-reply@accounts.example.org>" || e.Tag != "job-finished" {
			t.Errorf("entry %d = %+v", i, e)
		}
		if e.Date == nil || !e.Date.Equal(time.Date(2006, 1, 2, 22, 4, 5, 0, time.UTC)) || e.Size == 0 || e.File != filepath.Join(dir, e.ID+".eml") {
			t.Errorf("entry %d = %+v", i, e)
		}
		if i > 0 && e.SavedAt.Before(list[i-1].SavedAt) {
			t.Errorf("entry %d saved before entry %d", i, i-1)
		}

		status, hdr, got := get(t, srv.URL+"/_local/mail/"+e.ID)
		want, _ := os.ReadFile(e.File)
		if status != 200 || hdr.Get("Content-Type") != "text/plain; charset=utf-8" || !bytes.Equal(got, want) {
			t.Errorf("GET %s: %d %s, body equal to the file: %v", e.ID, status, hdr.Get("Content-Type"), bytes.Equal(got, want))
		}
	}
}

func TestOutboxRefusesPathTraversal(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "outbox")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret.eml"), []byte("Subject: secret\r\n\r\nsecret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret.eml"), filepath.Join(dir, "link.eml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".hidden.eml"), []byte("Subject: hidden\r\n\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := outboxServer(t, dir)
	// A subtree mount exercises the handler's own path fallback.
	mux := http.NewServeMux()
	mux.Handle("GET /_local/mail/", &outbox{dir: dir})
	subtree := httptest.NewServer(mux)
	t.Cleanup(subtree.Close)

	for _, id := range []string{
		"..%2Fsecret", "%2E%2E%2Fsecret", "..", "link", ".hidden", "a%00b", "%2Fetc%2Fpasswd", "missing",
		"..%5Csecret", strings.Repeat("a", 300),
	} {
		for _, s := range []*httptest.Server{srv, subtree} {
			status, _, body := get(t, s.URL+"/_local/mail/"+id)
			if status != http.StatusNotFound || bytes.Contains(body, []byte("secret")) {
				t.Errorf("GET /_local/mail/%s = %d %q, want 404", id, status, body)
			}
		}
	}
	// The raw, unnormalised path, past the client's and the mux's cleaning.
	for _, path := range []string{"/_local/mail/../secret", "/_local/mail/..%2F..%2Fsecret"} {
		req := httptest.NewRequest("GET", "http://x"+path, nil)
		req.URL.Path, req.URL.RawPath = path, ""
		rec := httptest.NewRecorder()
		(&outbox{dir: dir}).ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("raw %s = %d, want 404", path, rec.Code)
		}
	}
	_, _, body := get(t, srv.URL+"/_local/mail")
	if strings.Contains(string(body), "secret") || strings.Contains(string(body), "hidden") {
		t.Errorf("listing shows a symlink or hidden file: %s", body)
	}
}

// TestOutboxOrdersByStoredTime stores with a clock that runs backwards
// relative to the ids, and still lists oldest first.
func TestOutboxOrdersByStoredTime(t *testing.T) {
	dir := t.TempDir()
	times := []time.Time{
		time.Date(2026, 3, 1, 10, 0, 0, 5, time.UTC),
		time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
	}
	var i int
	h := New(dir)
	h.now = func() time.Time { return times[i] }
	for i = range times {
		form := url.Values{"Action": {"SendEmail"}, "Version": {sesVersion}, "Source": {"s@example.org"},
			"Destination.ToAddresses.member.1": {"a@example.org"}, "Message.Subject.Data": {times[i].Format(time.Kitchen)},
			"Message.Body.Text.Data": {"x"}, "Tags.member.1.Name": {"kind"}, "Tags.member.1.Value": {"t" + string(rune('0'+i))}}
		req := httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("send %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	list, err := (&outbox{dir: dir}).list()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Subject+"/"+e.Tag+"/"+e.SavedAt.Format(time.RFC3339Nano))
	}
	want := []string{"9:00AM/t1/2026-03-01T09:00:00Z", "10:00AM/t0/2026-03-01T10:00:00.000000005Z", "11:00AM/t2/2026-03-01T11:00:00Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("order = %q, want %q", got, want)
	}
}
