package costmodel_test

import (
	"math"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/costmodel"
)

// testPrices is a price list with the real us-east-1 figures, fixed here so
// the arithmetic tests do not move when docs/cost/prices.json is updated.
func testPrices() costmodel.Prices {
	item := func(key string, usd, per float64) costmodel.Price {
		return costmodel.Price{Key: key, Service: "s", What: "w", USD: usd, Per: per, Unit: "u", Source: "https://example.test/" + key, Read: "2026-12-02"}
	}
	return costmodel.Prices{Region: "us-east-1", Currency: "USD", Items: []costmodel.Price{
		item("lambda_request", 0.20, 1e6),
		item("lambda_gb_second_arm64", 0.0000133334, 1),
		item("httpapi_request", 1.00, 1e6),
		item("dynamodb_write_request_unit", 0.625, 1e6),
		item("dynamodb_read_request_unit", 0.125, 1e6),
		item("dynamodb_storage_gb_month", 0.25, 1),
		item("sqs_standard_request", 0.40, 1e6),
		item("ses_outbound_email", 0.10, 1000),
		item("s3_put_request", 0.005, 1000),
		item("s3_get_request", 0.0004, 1000),
		item("s3_storage_gb_month", 0.023, 1),
		item("secretsmanager_secret_month", 0.40, 1),
		item("secretsmanager_api_call", 0.05, 10000),
		item("cloudwatch_logs_ingest_gb", 0.50, 1),
	}}
}

// testAssumptions has no log bytes unless a test sets them, so each line of
// the bill can be checked on its own.
func testAssumptions() costmodel.Assumptions {
	return costmodel.Assumptions{ActivePatrons: []int{1000}}
}

// allServices is one of everything, so each price is exercised once.
func allServices() costmodel.Operation {
	return costmodel.Operation{
		Key: "mix", Name: "one of everything", Samples: 1, APIRequests: 1,
		Invocations: map[string]float64{"F": 1},
		DurationMs:  map[string]float64{"F": 999.2}, // billed as 1,000 ms
		MemoryMB:    map[string]int{"F": 1024},
		Requests: map[string]map[string]float64{
			"dynamodb": {"GetItem": 1, "PutItem": 1},
			"sqs":      {"SendMessage": 1},
			"ses":      {"SendRawEmail": 1, "GetSendQuota": 1},
			"s3":       {"PutObject": 1, "GetObject": 1, "DeleteObject": 1},
		},
		ReadUnits: 1, WriteUnits: 1,
	}
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12+1e-9*math.Abs(want)
}

func TestOperationBill(t *testing.T) {
	logs := testAssumptions()
	logs.LogBytesPerInvocation.Value = 1 << 29       // half a GiB per invocation
	logs.AccessLogBytesPerAPIRequest.Value = 1 << 28 // a quarter per request
	cases := []struct {
		name string
		op   costmodel.Operation
		a    costmodel.Assumptions
		line costmodel.Line
		want float64 // USD for one operation
	}{
		{"HTTP API: one request at $1 per million", allServices(), testAssumptions(), costmodel.LineHTTPAPI, 1e-6},
		{"Lambda requests: one at $0.20 per million", allServices(), testAssumptions(), costmodel.LineLambdaRequests, 0.2e-6},
		{"Lambda duration: 999.2 ms billed as 1 s at 1 GB", allServices(), testAssumptions(), costmodel.LineLambdaDuration, 0.0000133334},
		{"DynamoDB: one read unit and one write unit", allServices(), testAssumptions(), costmodel.LineDynamoRequests, 0.125e-6 + 0.625e-6},
		{"SQS: one request", allServices(), testAssumptions(), costmodel.LineSQS, 0.4e-6},
		{"SES: only the send is billed", allServices(), testAssumptions(), costmodel.LineSES, 0.0001},
		{"S3: a PUT and a GET, DELETE free", allServices(), testAssumptions(), costmodel.LineS3Requests, 0.000005 + 0.0000004},
		{"logs: 0.75 GiB at $0.50", allServices(), logs, costmodel.LineLogs, 0.375},
		{"storage is not per operation", allServices(), testAssumptions(), costmodel.LineDynamoStorage, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := costmodel.Measured{Operations: []costmodel.Operation{c.op}}
			md, err := costmodel.NewModel(m, c.a, testPrices())
			if err != nil {
				t.Fatal(err)
			}
			got := md.Ops[c.op.Key].Bill[c.line]
			if !near(got, c.want) {
				t.Errorf("%s = %.12g, want %.12g", c.line, got, c.want)
			}
		})
	}
}

func TestKnownMixGivesKnownDollars(t *testing.T) {
	// A sign-in measured at 1 API request, one 61.2 ms invocation at 1,024 MB,
	// 2 RCU and 5 WCU, with 1,000 bytes of log lines: $5.8673 per million.
	signIn := costmodel.Operation{
		Key: "login_ok", Name: "sign-in", Samples: 1, APIRequests: 1,
		Invocations: map[string]float64{"AuthLoginFunction": 1},
		DurationMs:  map[string]float64{"AuthLoginFunction": 61.2},
		MemoryMB:    map[string]int{"AuthLoginFunction": 1024},
		ReadUnits:   2, WriteUnits: 5,
	}
	// A notice: a tenth of a worker invocation (batches of ten) of 720 ms,
	// two queue requests a tenth each, two writes and one e-mail.
	notice := costmodel.Operation{
		Key: "notice", Name: "notice", Samples: 1,
		Invocations: map[string]float64{"NoticesWorkerFunction": 0.1},
		DurationMs:  map[string]float64{"NoticesWorkerFunction": 720},
		MemoryMB:    map[string]int{"NoticesWorkerFunction": 1024},
		Requests:    map[string]map[string]float64{"sqs": {"ReceiveMessage": 0.1, "DeleteMessageBatch": 0.1}, "ses": {"SendRawEmail": 1}},
		WriteUnits:  2,
	}
	a := costmodel.Assumptions{
		ActivePatrons: []int{1000, 10000},
		Patron:        []costmodel.Rate{{Operation: "login_ok", PerActivePatron: 4}},
		Library:       []costmodel.Rate{{Operation: "notice", PerActivePatron: 0.5}},
	}
	a.LogBytesPerInvocation.Value = 700
	a.AccessLogBytesPerAPIRequest.Value = 300
	a.RegisteredPerActive.Value = 2
	a.StoredBytesPerPatron.Value = 1 << 20 // 1 MiB, so storage is visible
	a.Secrets.Value = 1
	md, err := costmodel.NewModel(costmodel.Measured{Operations: []costmodel.Operation{signIn, notice}}, a, testPrices())
	if err != nil {
		t.Fatal(err)
	}
	perSignIn := 1e-6 + 0.2e-6 + 0.062*0.0000133334 + 2*0.125e-6 + 5*0.625e-6 + 1000.0/(1<<30)*0.5
	if got := md.Ops["login_ok"].Bill.Total(); !near(got, perSignIn) || math.Round(got*1e6*100)/100 != 5.87 {
		t.Errorf("one sign-in = $%.10f, want $%.10f ($5.87 per million)", got, perSignIn)
	}
	perNotice := 0.1*0.2e-6 + 0.1*0.72*0.0000133334 + 2*0.625e-6 + 0.2*0.4e-6 + 0.0001 + 0.1*700/(1<<30)*0.5
	cases := []struct {
		patrons int
		want    float64
	}{
		{1000, 4000*perSignIn + 500*perNotice + 2000*0.25/1024 + 0.40},
		{10000, 40000*perSignIn + 5000*perNotice + 20000*0.25/1024 + 0.40},
	}
	for _, c := range cases {
		if got := md.Month(c.patrons).Total(); !near(got, c.want) {
			t.Errorf("a month of %d active patrons = $%.6f, want $%.6f", c.patrons, got, c.want)
		}
	}
	// 1,000 active patrons: 4,000 sign-ins $0.0235, 500 notices $0.0510,
	// 2,000 MiB of items $0.4883 and the secret $0.40: $0.96.
	if got := md.Month(1000).Total(); math.Round(got*100)/100 != 0.96 {
		t.Errorf("a month of 1,000 active patrons = $%.4f, want $0.96", got)
	}
}

func TestSQSChunks(t *testing.T) {
	cases := []struct {
		name  string
		reqs  map[string]float64
		bytes float64
		want  float64 // billed requests
	}{
		{"small messages: one request each", map[string]float64{"SendMessage": 1, "ReceiveMessage": 1, "DeleteMessage": 1}, 1000, 3},
		{"no payload size measured", map[string]float64{"SendMessage": 2}, 0, 2},
		{"exactly 64 KB is one chunk", map[string]float64{"SendMessage": 1}, 64 * 1024, 1},
		{"100 KB: send and receive bill two each, delete one", map[string]float64{"SendMessage": 1, "ReceiveMessage": 1, "DeleteMessage": 1}, 100 * 1024, 5},
		{"a 200 KB batch of one send", map[string]float64{"SendMessageBatch": 1}, 200 * 1024, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op := costmodel.Operation{Key: "q", Requests: map[string]map[string]float64{"sqs": c.reqs}, SQSBytes: c.bytes}
			u, err := costmodel.UsageOf(op, nil, testAssumptions())
			if err != nil {
				t.Fatal(err)
			}
			if u.SQSRequests != c.want {
				t.Errorf("billed SQS requests = %v, want %v", u.SQSRequests, c.want)
			}
		})
	}
}

func TestUsageOf(t *testing.T) {
	op := costmodel.Operation{
		Key:         "two",
		Invocations: map[string]float64{"Authorizer": 1, "Me": 1},
		DurationMs:  map[string]float64{"Authorizer": 3.1, "Me": 4.0},
		MemoryMB:    map[string]int{"Me": 512}, // the authorizer's size comes from the functions list
		Requests:    map[string]map[string]float64{"s3": {"ListObjectsV2": 2, "HeadObject": 3, "CreateMultipartUpload": 1, "AbortMultipartUpload": 1}},
	}
	u, err := costmodel.UsageOf(op, map[string]int{"Authorizer": 256}, testAssumptions())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		got, want float64
	}{
		{"invocations", u.Invocations, 2},
		{"billed ms: 3.1 rounds up to 4, 4.0 stays", u.BilledMs, 8},
		{"GB-s: 4 ms at 256 MB and 4 ms at 512 MB", u.GBSeconds, 0.004*0.25 + 0.004*0.5},
		{"S3 PUT class: LIST and multipart create", u.S3PutClass, 3},
		{"S3 GET class: HEAD", u.S3GetClass, 3},
		{"S3 free: abort", u.OtherS3Requests, 1},
	}
	for _, c := range cases {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestAlternativeMonth(t *testing.T) {
	lite := costmodel.Alternative{Tiers: []costmodel.MAUTier{{UpToMAU: 10000}, {UpToMAU: 100000, USDPerMAU: 0.0055}, {UpToMAU: 1000000, USDPerMAU: 0.0046}}}
	essentials := costmodel.Alternative{Tiers: []costmodel.MAUTier{{UpToMAU: 10000}, {UpToMAU: 0, USDPerMAU: 0.015}}}
	bands := costmodel.Alternative{Bands: []costmodel.PlanBand{{UpToMAU: 1000, USDPerMonth: 70}, {UpToMAU: 500, USDPerMonth: 35}}}
	cases := []struct {
		name   string
		alt    costmodel.Alternative
		mau    int
		want   float64
		wantOK bool
	}{
		{"lite inside the free tier", lite, 1000, 0, true},
		{"lite at the free tier's edge", lite, 10000, 0, true},
		{"lite 100,000: 90,000 at $0.0055", lite, 100000, 495, true},
		{"lite 150,000: and 50,000 at $0.0046", lite, 150000, 495 + 230, true},
		{"lite past the last tier found", lite, 2000000, 0, false},
		{"essentials 100,000: 90,000 at $0.015", essentials, 100000, 1350, true},
		{"essentials has no upper bound", essentials, 5000000, 4990000 * 0.015, true},
		{"bands: the smallest that fits, whatever the order", bands, 400, 35, true},
		{"bands: the next one up", bands, 501, 70, true},
		{"bands: past the largest", bands, 1001, 0, false},
		{"no prices at all", costmodel.Alternative{}, 10, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := costmodel.AlternativeMonth(c.alt, c.mau)
			if ok != c.wantOK || !near(got, c.want) {
				t.Errorf("AlternativeMonth(%d) = %v, %v; want %v, %v", c.mau, got, ok, c.want, c.wantOK)
			}
		})
	}
}

func TestAtMax(t *testing.T) {
	cases := []struct {
		name          string
		run           costmodel.ScaleRun
		wantPerSec    float64
		wantMinutes   float64
		wantPartition bool
	}{
		{
			// 1,000 tasks in waves of 10 at 1.5 s: 150 s; the job record takes
			// 10 × 2 writes every 1.5 s.
			"a reset bound by workers",
			costmodel.ScaleRun{Kind: "reset", Users: 100000, UsersPerTask: 100, WritesPerTask: 202, HottestKeyWritesPerTask: 2, MaxConcurrency: 10, TaskMs: 1500},
			13.333333333333334, 2.5, false,
		},
		{
			// 400 tasks of 250 rows; 20 workers × 100 writes ÷ 1 s = 2,000/s,
			// past 1,000: the 40,000 hot writes take 40 s instead of 20 s.
			"an import bound by its hot partition",
			costmodel.ScaleRun{Kind: "import", Users: 100000, UsersPerTask: 250, HottestKeyWritesPerTask: 100, MaxConcurrency: 20, TaskMs: 1000},
			2000, 40.0 / 60, true,
		},
		{
			"a last partial task counts as a task",
			costmodel.ScaleRun{Kind: "reset", Users: 101, UsersPerTask: 100, HottestKeyWritesPerTask: 1, MaxConcurrency: 2, TaskMs: 60000},
			2.0 / 60, 1, false,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := costmodel.AtMax(c.run)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.HotKeyPerSec, c.wantPerSec) || !near(got.Minutes, c.wantMinutes) || got.PartitionBound != c.wantPartition ||
				!near(got.TableWritesPerSec, float64(c.run.MaxConcurrency)*c.run.WritesPerTask/(c.run.TaskMs/1000)) {
				t.Errorf("AtMax = %+v; want %v/s, %v min, partition-bound %v", got, c.wantPerSec, c.wantMinutes, c.wantPartition)
			}
		})
	}
	if _, err := costmodel.AtMax(costmodel.ScaleRun{Kind: "reset", Users: 10, MaxConcurrency: 1, TaskMs: 1}); err == nil {
		t.Error("a run with no users per task was accepted")
	}
}

func TestBadInputsAreRefused(t *testing.T) {
	withoutKey := func(key string) costmodel.Prices {
		p := testPrices()
		var keep []costmodel.Price
		for _, it := range p.Items {
			if it.Key != key {
				keep = append(keep, it)
			}
		}
		p.Items = keep
		return p
	}
	unsourced := testPrices()
	unsourced.Items[0].Source = ""
	zeroPer := testPrices()
	zeroPer.Items[1].Per = 0
	noMemory := costmodel.Measured{Operations: []costmodel.Operation{{Key: "x", Invocations: map[string]float64{"F": 1}}}}
	twice := costmodel.Assumptions{ActivePatrons: []int{1}, Patron: []costmodel.Rate{{Operation: "me", PerActivePatron: 1}}, Library: []costmodel.Rate{{Operation: "me", PerActivePatron: 1}}}
	cases := []struct {
		name string
		m    costmodel.Measured
		a    costmodel.Assumptions
		p    costmodel.Prices
		want string
	}{
		{"a missing price", costmodel.Measured{}, testAssumptions(), withoutKey("ses_outbound_email"), `no "ses_outbound_email"`},
		{"a price without its source", costmodel.Measured{}, testAssumptions(), unsourced, "needs its source"},
		{"a price per nothing", costmodel.Measured{}, testAssumptions(), zeroPer, "per must be above 0"},
		{"a function without a memory size", noMemory, testAssumptions(), testPrices(), "no memory size for F"},
		{"an operation assumed twice", costmodel.Measured{}, twice, testPrices(), "me is listed twice"},
		{"no library sizes", costmodel.Measured{}, costmodel.Assumptions{}, testPrices(), "activePatrons is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := costmodel.Render(c.m, c.a, c.p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Render error = %v, want one saying %q", err, c.want)
			}
		})
	}
}
