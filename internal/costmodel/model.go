package costmodel

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Line is one line of a bill, in the order the document prints them.
type Line int

const (
	LineHTTPAPI Line = iota
	LineLambdaRequests
	LineLambdaDuration
	LineDynamoRequests
	LineDynamoStorage
	LineSQS
	LineSES
	LineS3Requests
	LineS3Storage
	LineLogs
	LineSecrets
	numLines
)

var lineNames = [numLines]string{
	"API Gateway HTTP API requests",
	"Lambda requests",
	"Lambda duration (arm64)",
	"DynamoDB read and write units",
	"DynamoDB storage",
	"SQS requests",
	"SES e-mails",
	"S3 requests",
	"S3 storage",
	"CloudWatch Logs ingestion",
	"Secrets Manager",
}

func (l Line) String() string { return lineNames[l] }

// Bill is USD by line.
type Bill [numLines]float64

// Total is the sum of every line.
func (b Bill) Total() float64 {
	var t float64
	for _, v := range b {
		t += v
	}
	return t
}

func (b *Bill) add(o Bill, times float64) {
	for i := range b {
		b[i] += o[i] * times
	}
}

// gib is the gigabyte AWS bills storage and log data in.
const gib = 1 << 30

// Usage is what one operation consumes, the quantities the bill is priced from.
type Usage struct {
	APIRequests     float64
	Invocations     float64
	BilledMs        float64 // sum over invocations of the duration rounded up to 1 ms
	GBSeconds       float64
	DynamoRequests  float64
	ReadUnits       float64
	WriteUnits      float64
	SQSRequests     float64 // billed: 64 KB chunks counted
	SESEmails       float64
	S3PutClass      float64
	S3GetClass      float64
	LogBytes        float64
	OtherS3Requests float64 // free ones (DELETE), shown but not priced
}

// UsageOf turns one measured operation into billable quantities. memory is
// each function's configured size, used where the operation does not say it.
func UsageOf(op Operation, memory map[string]int, a Assumptions) (Usage, error) {
	u := Usage{
		APIRequests: op.APIRequests,
		ReadUnits:   op.ReadUnits,
		WriteUnits:  op.WriteUnits,
	}
	var errs []error
	for _, fn := range sortedKeys(op.Invocations) {
		n := op.Invocations[fn]
		if n < 0 {
			errs = append(errs, fmt.Errorf("operation %s: %s has %v invocations", op.Key, fn, n))
			continue
		}
		mb := op.MemoryMB[fn]
		if mb == 0 {
			mb = memory[fn]
		}
		if mb <= 0 {
			errs = append(errs, fmt.Errorf("operation %s: no memory size for %s", op.Key, fn))
			continue
		}
		// Lambda bills each invocation's duration rounded up to the next
		// millisecond; the mean stands in for each one.
		ms := math.Ceil(op.DurationMs[fn])
		u.Invocations += n
		u.BilledMs += n * ms
		u.GBSeconds += n * ms / 1000 * float64(mb) / 1024
	}
	// Map order is random and float addition is not associative: sum in key
	// order so the document is the same on every run.
	for _, api := range sortedKeys(op.Requests["dynamodb"]) {
		u.DynamoRequests += op.Requests["dynamodb"][api]
	}
	u.SQSRequests = sqsBilled(op.Requests["sqs"], op.SQSBytes)
	for _, api := range sortedKeys(op.Requests["ses"]) {
		n := op.Requests["ses"][api]
		// Only sending is billed; quota and identity calls are not.
		if strings.HasPrefix(api, "Send") {
			u.SESEmails += n
		}
	}
	for _, api := range sortedKeys(op.Requests["s3"]) {
		n := op.Requests["s3"][api]
		switch s3Class(api) {
		case s3Put:
			u.S3PutClass += n
		case s3Get:
			u.S3GetClass += n
		default:
			u.OtherS3Requests += n
		}
	}
	u.LogBytes = u.Invocations*a.LogBytesPerInvocation.Value + u.APIRequests*a.AccessLogBytesPerAPIRequest.Value
	return u, errors.Join(errs...)
}

// sqsBilled counts what SQS bills: every request, and each request that
// carries messages once more for every further 64 KB of the average payload.
func sqsBilled(reqs map[string]float64, payloadBytes float64) float64 {
	var total, carrying, sends float64
	for _, api := range sortedKeys(reqs) {
		n := reqs[api]
		total += n
		if strings.HasPrefix(api, "SendMessage") {
			sends += n
		}
		if strings.HasPrefix(api, "SendMessage") || api == "ReceiveMessage" {
			carrying += n
		}
	}
	if sends == 0 || payloadBytes <= 0 {
		return total
	}
	chunks := math.Ceil(payloadBytes / sends / defaultSQSChunkLen)
	if chunks <= 1 {
		return total
	}
	return total + carrying*(chunks-1)
}

type s3Kind int

const (
	s3Free s3Kind = iota
	s3Put
	s3Get
)

// s3Class sorts an S3 API into the request class S3 Standard bills it in.
func s3Class(api string) s3Kind {
	for _, p := range []string{"Put", "Copy", "Post", "List", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"} {
		if strings.HasPrefix(api, p) {
			return s3Put
		}
	}
	if strings.HasPrefix(api, "Delete") || strings.HasPrefix(api, "AbortMultipartUpload") {
		return s3Free
	}
	return s3Get
}

// Price turns usage into a bill.
func (u Usage) price(r rates) Bill {
	var b Bill
	b[LineHTTPAPI] = u.APIRequests * r[keyHTTPAPIRequest]
	b[LineLambdaRequests] = u.Invocations * r[keyLambdaRequest]
	b[LineLambdaDuration] = u.GBSeconds * r[keyLambdaGBSecond]
	b[LineDynamoRequests] = u.ReadUnits*r[keyDynamoRRU] + u.WriteUnits*r[keyDynamoWRU]
	b[LineSQS] = u.SQSRequests * r[keySQSRequest]
	b[LineSES] = u.SESEmails * r[keySESEmail]
	b[LineS3Requests] = u.S3PutClass*r[keyS3Put] + u.S3GetClass*r[keyS3Get]
	b[LineLogs] = u.LogBytes / gib * r[keyLogsIngestGB]
	return b
}

// Model is the measured operations priced, ready to be summed into months.
type Model struct {
	Ops        map[string]PricedOp
	rates      rates
	a          Assumptions
	Unmeasured []string // assumed operations the bench did not measure: left out of every month
}

// PricedOp is one operation's usage and what one of it costs.
type PricedOp struct {
	Op    Operation
	Usage Usage
	Bill  Bill
}

// NewModel prices every measured operation.
func NewModel(m Measured, a Assumptions, p Prices) (*Model, error) {
	r, err := p.rates()
	if err != nil {
		return nil, err
	}
	if err := a.validate(); err != nil {
		return nil, err
	}
	memory := map[string]int{}
	for _, f := range m.Functions {
		memory[f.LogicalID] = f.MemoryMB
	}
	md := &Model{Ops: map[string]PricedOp{}, rates: r, a: a}
	var errs []error
	for _, op := range m.Operations {
		if _, dup := md.Ops[op.Key]; dup {
			errs = append(errs, fmt.Errorf("measured: operation %s listed twice", op.Key))
			continue
		}
		u, err := UsageOf(op, memory, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		md.Ops[op.Key] = PricedOp{Op: op, Usage: u, Bill: u.price(r)}
	}
	for _, rt := range md.allRates() {
		if _, ok := md.Ops[rt.Operation]; !ok {
			md.Unmeasured = append(md.Unmeasured, rt.Operation)
		}
	}
	sort.Strings(md.Unmeasured)
	return md, errors.Join(errs...)
}

func (md *Model) allRates() []Rate {
	return append(append([]Rate{}, md.a.Patron...), md.a.Library...)
}

// Month is the bill of a library with n active patrons.
func (md *Model) Month(n int) Bill {
	var b Bill
	N := float64(n)
	var importRows float64
	for _, rt := range md.allRates() {
		op, ok := md.Ops[rt.Operation]
		if !ok {
			continue
		}
		b.add(op.Bill, rt.PerActivePatron*N)
		if strings.HasPrefix(rt.Operation, "import_row") {
			importRows += rt.PerActivePatron * N
		}
	}
	a := md.a
	b[LineDynamoStorage] = N * a.RegisteredPerActive.Value * a.StoredBytesPerPatron.Value / gib * md.rates[keyDynamoStorage]
	b[LineS3Storage] = importRows * a.ReportBytesPerImportRow.Value / gib * md.rates[keyS3Storage]
	b[LineSecrets] = a.Secrets.Value*md.rates[keySecretMonth] + a.SecretAPICallsPerMonth.Value*md.rates[keySecretAPICall]
	return b
}

// MonthlyCount is how many of an operation a library of n active patrons does in a month.
func (md *Model) MonthlyCount(op string, n int) float64 {
	for _, rt := range md.allRates() {
		if rt.Operation == op {
			return rt.PerActivePatron * float64(n)
		}
	}
	return 0
}

// AlternativeMonth is what alt charges a month for mau monthly active users;
// ok is false when the stored price list does not reach that many.
func AlternativeMonth(alt Alternative, mau int) (usd float64, ok bool) {
	if len(alt.Bands) > 0 {
		bands := append([]PlanBand{}, alt.Bands...)
		sort.Slice(bands, func(i, j int) bool { return bands[i].UpToMAU < bands[j].UpToMAU })
		for _, b := range bands {
			if mau <= b.UpToMAU {
				return b.USDPerMonth, true
			}
		}
		return 0, false
	}
	if len(alt.Tiers) == 0 {
		return 0, false
	}
	prev := 0
	for _, t := range alt.Tiers {
		top := t.UpToMAU
		if top == 0 || mau <= top {
			return usd + float64(mau-prev)*t.USDPerMAU, true
		}
		usd += float64(top-prev) * t.USDPerMAU
		prev = top
	}
	return 0, false
}

// Limits DynamoDB documents, per second: one partition's, and a new
// on-demand table's warm write throughput.
const (
	PartitionWriteUnitsPerSec = 1000
	PartitionReadUnitsPerSec  = 3000
	HotKeyAimPerSec           = 300
	NewTableWarmWritesPerSec  = 4000
)

// ScaleAtMax is a run as it would go on AWS with every worker the template
// allows: the hottest key's write rate, and how long the run takes.
type ScaleAtMax struct {
	Tasks             float64
	HotKeyPerSec      float64
	TableWritesPerSec float64 // every write of every busy worker, against the table's warm throughput
	Minutes           float64
	PartitionBound    bool // the hot key, not the worker count, sets the time
	ConcurrencyBound  bool
}

// AtMax computes the run at the template's maximum worker concurrency from
// the measured per-task figures.
func AtMax(s ScaleRun) (ScaleAtMax, error) {
	if s.UsersPerTask <= 0 || s.TaskMs <= 0 || s.MaxConcurrency <= 0 {
		return ScaleAtMax{}, fmt.Errorf("scale run %s: usersPerTask, taskMs and maxConcurrency must be above 0", s.Kind)
	}
	tasks := math.Ceil(float64(s.Users) / float64(s.UsersPerTask))
	taskSec := s.TaskMs / 1000
	r := ScaleAtMax{
		Tasks:             tasks,
		HotKeyPerSec:      float64(s.MaxConcurrency) * s.HottestKeyWritesPerTask / taskSec,
		TableWritesPerSec: float64(s.MaxConcurrency) * s.WritesPerTask / taskSec,
	}
	// Tasks run in waves of MaxConcurrency; a hot key past the partition's
	// limit is throttled, and then it is what paces the run.
	byWorkers := tasks / float64(s.MaxConcurrency) * taskSec
	byPartition := tasks * s.HottestKeyWritesPerTask / PartitionWriteUnitsPerSec
	if byPartition > byWorkers {
		r.Minutes, r.PartitionBound = byPartition/60, true
	} else {
		r.Minutes, r.ConcurrencyBound = byWorkers/60, true
	}
	return r, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
