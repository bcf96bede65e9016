package costmodel

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Aims from issue 12 for each Lambda binary on the measuring machine.
const (
	AimBinaryMB = 12
	AimInitMs   = 30
)

// The template's own limits the document quotes; a test holds them to template.yaml.
const (
	TemplateRouteRateLimit  = 100 // HttpApi DefaultRouteSettings.ThrottlingRateLimit
	TemplateRouteBurstLimit = 200 // HttpApi DefaultRouteSettings.ThrottlingBurstLimit
	TemplateNoticeSendRate  = 14  // the NoticeSendRate parameter's Default
	ConsortiumPatrons       = 5_000_000
	ScaleUsers              = 100_000 // the library size issue 12 asks the scale figures for
)

// NoticeHours is how long one notice to each of patrons takes at perSec.
func NoticeHours(patrons, perSec int) float64 { return float64(patrons) / float64(perSec) / 3600 }

// Where the document's AWS limits come from (found with the search tool,
// stored copies, read 2026-12-02).
const (
	srcPartition     = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html"
	srcDynamoQuotas  = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"
	srcLambdaQuotas  = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
	srcAPIGWQuotas   = "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"
	srcSESQuotas     = "https://docs.aws.amazon.com/ses/latest/dg/quotas.html"
	limitsReadOnDate = "2026-12-02"
)

// Render writes docs/COST.md from the measured figures, the assumptions and
// the prices. The output depends on nothing else (no clock, no map order), so
// a test can hold the committed document to it byte for byte.
func Render(m Measured, a Assumptions, p Prices) ([]byte, error) {
	md, err := NewModel(m, a, p)
	if err != nil {
		return nil, err
	}
	scale := make([]ScaleAtMax, len(m.Scale))
	scaled := make([]ScaleAtMax, len(m.Scale)) // the same run for a library of ScaleUsers
	for i, s := range m.Scale {
		if scale[i], err = AtMax(s); err != nil {
			return nil, err
		}
		s.Users = ScaleUsers
		if scaled[i], err = AtMax(s); err != nil {
			return nil, err
		}
	}
	sizes := append([]int{}, a.ActivePatrons...)
	sort.Ints(sizes)
	months := make([]Bill, len(sizes))
	for i, n := range sizes {
		months[i] = md.Month(n)
	}

	w := &doc{}
	w.p("# What libaccounts costs on AWS, and where it stops scaling")
	w.p("")
	w.p("Generated, not written: `make cost-doc` (`go run ./cmd/costdoc`) builds this file from")
	w.p("`docs/cost/measured.json` (what `make cost` measured through the local stack), `docs/cost/assumptions.json`")
	w.p("(what a library's month is made of) and `docs/cost/prices.json` (AWS and competitors' list prices, each")
	w.p("with its page and the date it was read). `make cost` measures and regenerates; `make cost-doc` only")
	w.p("regenerates. A test (`TestCostDocumentMatchesMeasuredFigures`) fails when this file is not what those three")
	w.p("files give.")
	w.p("")
	w.f("Measured %s on %s at commit `%s`. Prices: %s, %s, list prices without free tiers or discounts.",
		m.MeasuredAt.UTC().Format(time.RFC3339), esc(m.Machine), esc(m.Commit), esc(p.Region), esc(p.Currency))
	w.p("")

	w.p("## Per 1,000 active patrons, beside Cognito and Auth0")
	w.p("")
	w.p("An *active patron* signs in at least once in the month: what Cognito and Auth0 bill as a monthly")
	w.p("active user (MAU).")
	w.p("")
	head := []string{"active patrons", "libaccounts on AWS, a month", "per 1,000 active patrons"}
	for _, alt := range p.Alternatives {
		head = append(head, esc(alt.Name+" "+alt.Plan))
	}
	w.row(head...)
	w.sep(len(head))
	for i, n := range sizes {
		t := months[i].Total()
		cells := []string{intf(n), usd(t), usd(t / float64(n) * 1000)}
		for _, alt := range p.Alternatives {
			if v, ok := AlternativeMonth(alt, n); ok {
				cells = append(cells, usd(v)+" ("+usd(v/float64(n)*1000)+" per 1,000)")
			} else {
				cells = append(cells, "no list price found")
			}
		}
		w.row(cells...)
	}
	w.p("")
	w.p("Read this plainly. Cognito and Auth0 sell a finished, hosted identity service: their price includes a")
	w.p("hosted sign-in page, social and enterprise sign-in, multi-factor authentication, their own operations")
	w.p("and support. The libaccounts figure is only the AWS bill for the requests below; it excludes the staff")
	w.p("time to deploy, run, patch and watch it, support, the ILS, and the items under *Not included*. What it")
	w.p("buys that they do not is the library workflows (two-column uploads, sets of primary IDs, bulk resets")
	w.p("with a task centre, linked accounts) in the library's own AWS account. \"no list price found\" means the")
	w.p("stored copy of the vendor's page does not state a price for that many MAU (see *Prices*).")
	w.p("")

	w.p("## A month, by service")
	w.p("")
	head = []string{"service"}
	for _, n := range sizes {
		head = append(head, intf(n)+" active patrons")
	}
	w.row(head...)
	w.sep(len(head))
	for l := Line(0); l < numLines; l++ {
		cells := []string{l.String()}
		for i := range sizes {
			cells = append(cells, usd(months[i][l]))
		}
		w.row(cells...)
	}
	cells := []string{"**total**"}
	for i := range sizes {
		cells = append(cells, "**"+usd(months[i].Total())+"**")
	}
	w.row(cells...)
	w.p("")
	w.p("Secrets Manager is a fixed cost of the deployment, shared by every library one deployment serves; the")
	w.p("other lines grow with the library.")
	w.p("")
	if len(md.Unmeasured) > 0 {
		w.f("Assumed but not measured, so **left out of every total above**: %s. Run `make cost` after the bench",
			strings.Join(codes(md.Unmeasured), ", "))
		w.p("measures them.")
		w.p("")
	}

	w.p("## What one operation costs")
	w.p("")
	w.p("Per one operation, as measured through the local stack (mean over the samples). Invocations include")
	w.p("the authorizer. Billed ms rounds each function's mean duration up to the millisecond, as Lambda bills;")
	w.p("GB-s weighs it by the function's memory size in the template. RCU and WCU are DynamoDB's consumed")
	w.p("capacity (`ReturnConsumedCapacity: TOTAL`), billed on demand as read and write request units. SQS counts")
	w.p("billed requests (64 KB chunks). The last column is what a million of the operation costs.")
	w.p("")
	w.row("operation", "samples", "HTTP API", "invocations", "billed ms", "GB-s", "DynamoDB requests", "RCU", "WCU", "SQS", "SES", "S3", "$ per million")
	w.sep(13)
	for _, op := range m.Operations {
		po := md.Ops[op.Key]
		u := po.Usage
		w.row(esc(op.Name)+" (`"+esc(op.Key)+"`)", intf(op.Samples), qty(u.APIRequests), qty(u.Invocations),
			qty(u.BilledMs), qty(u.GBSeconds), qty(u.DynamoRequests), qty(u.ReadUnits), qty(u.WriteUnits),
			qty(u.SQSRequests), qty(u.SESEmails), qty(u.S3PutClass+u.S3GetClass+u.OtherS3Requests),
			usd(po.Bill.Total()*1e6))
	}
	w.p("")
	w.p("The functions each operation runs:")
	w.p("")
	w.row("operation", "function", "invocations", "mean ms", "memory MB")
	w.sep(5)
	mem := map[string]int{}
	for _, f := range m.Functions {
		mem[f.LogicalID] = f.MemoryMB
	}
	for _, op := range m.Operations {
		for _, fn := range sortedKeys(op.Invocations) {
			mb := op.MemoryMB[fn]
			if mb == 0 {
				mb = mem[fn]
			}
			w.row("`"+esc(op.Key)+"`", esc(fn), qty(op.Invocations[fn]), num(op.DurationMs[fn], 1), intf(mb))
		}
	}
	w.p("")
	w.p("The requests each operation makes, by API:")
	w.p("")
	w.row("operation", "service", "API", "per operation")
	w.sep(4)
	for _, op := range m.Operations {
		for _, svc := range sortedKeys(op.Requests) {
			for _, api := range sortedKeys(op.Requests[svc]) {
				w.row("`"+esc(op.Key)+"`", esc(svc), esc(api), qty(op.Requests[svc][api]))
			}
		}
	}
	w.p("")

	w.p("## What a month is made of")
	w.p("")
	w.p(esc(a.Note))
	w.p("")
	head = []string{"operation", "per active patron a month"}
	for _, n := range sizes {
		head = append(head, intf(n))
	}
	head = append(head, "why")
	for _, group := range []struct {
		title string
		rates []Rate
	}{{"What each active patron does", a.Patron}, {"What the library does (stated per active patron)", a.Library}} {
		w.p("### " + group.title)
		w.p("")
		w.row(head...)
		w.sep(len(head))
		for _, rt := range group.rates {
			name := "`" + esc(rt.Operation) + "`"
			if _, ok := md.Ops[rt.Operation]; !ok {
				name += " (not measured)"
			}
			cells := []string{name, qty(rt.PerActivePatron)}
			for _, n := range sizes {
				cells = append(cells, qty(rt.PerActivePatron*float64(n)))
			}
			w.row(append(cells, esc(rt.Why))...)
		}
		w.p("")
	}
	w.p("### Other figures")
	w.p("")
	w.row("figure", "value", "why")
	w.sep(3)
	for _, f := range []struct {
		name string
		f    Figure
	}{
		{"registered patrons per active patron", a.RegisteredPerActive},
		{"stored bytes per registered patron (DynamoDB)", a.StoredBytesPerPatron},
		{"log bytes per invocation", a.LogBytesPerInvocation},
		{"access-log bytes per API request", a.AccessLogBytesPerAPIRequest},
		{"report bytes per imported row (S3, 30 days)", a.ReportBytesPerImportRow},
		{"Secrets Manager secrets", a.Secrets},
		{"Secrets Manager API calls a month", a.SecretAPICallsPerMonth},
	} {
		w.row(f.name, qty(f.f.Value), esc(f.f.Why))
	}
	w.p("")
	w.p("Storage and log data are counted in GiB (2^30 bytes), as AWS bills them.")
	w.p("")

	w.p("## Prices")
	w.p("")
	w.p(esc(p.Note))
	w.p("")
	w.row("service", "what", "price", "page", "read", "note")
	w.sep(6)
	items := append([]Price{}, p.Items...)
	sort.SliceStable(items, func(i, j int) bool { return items[i].Key < items[j].Key })
	for _, it := range items {
		w.row(esc(it.Service), esc(it.What), "$"+strconv.FormatFloat(it.USD, 'f', -1, 64)+" per "+intf(int(it.Per))+" "+esc(it.Unit),
			it.Source, esc(it.Read), esc(it.Note))
	}
	w.p("")
	w.p("Free tiers, stated and **not** subtracted (an account's free tier is shared with everything else it runs):")
	w.p("")
	for _, ft := range p.FreeTiers {
		w.f("- %s: %s (%s, read %s). %s", esc(ft.Service), esc(ft.What), ft.Source, esc(ft.Read), esc(ft.Note))
	}
	w.p("")
	w.p("Competitors' list prices:")
	w.p("")
	w.row("service", "plan", "price", "page", "read", "note")
	w.sep(6)
	for _, alt := range p.Alternatives {
		w.row(esc(alt.Name), esc(alt.Plan), altPrice(alt), alt.Source, esc(alt.Read), esc(alt.Note))
	}
	w.p("")

	w.p("## Binaries and start-up")
	w.p("")
	w.p("Each function as `make build` builds it (linux/arm64, static, stripped), and its init time measured on the")
	w.f("machine above: process start to its first `/runtime/invocation/next`. Aim: at most %d MB (10^6 bytes) and %d ms.", AimBinaryMB, AimInitMs)
	w.p("")
	fns := append([]Function{}, m.Functions...)
	sort.SliceStable(fns, func(i, j int) bool { return fns[i].LogicalID < fns[j].LogicalID })
	var over []string
	var biggest, slowest Function
	for _, f := range fns {
		if f.BinaryBytes > biggest.BinaryBytes {
			biggest = f
		}
		if f.InitMs > slowest.InitMs {
			slowest = f
		}
		if mb(f.BinaryBytes) > AimBinaryMB || f.InitMs > AimInitMs {
			over = append(over, f.LogicalID)
		}
	}
	if len(fns) > 0 {
		w.f("%d functions; the largest is %s at %s MB, the slowest to start %s at %s ms; over an aim: %s.",
			len(fns), biggest.LogicalID, num(mb(biggest.BinaryBytes), 1), slowest.LogicalID, num(slowest.InitMs, 1), listOrNone(over))
		w.p("")
	}
	w.row("function", "binary MB", "init ms", "memory MB", "within aim")
	w.sep(5)
	for _, f := range fns {
		ok := "yes"
		switch {
		case mb(f.BinaryBytes) > AimBinaryMB && f.InitMs > AimInitMs:
			ok = "**no**: size and init"
		case mb(f.BinaryBytes) > AimBinaryMB:
			ok = "**no**: size"
		case f.InitMs > AimInitMs:
			ok = "**no**: init"
		}
		w.row(esc(f.LogicalID), num(mb(f.BinaryBytes), 1), num(f.InitMs, 1), intf(f.MemoryMB), ok)
	}
	w.p("")

	w.f("## Scale: an import and a bulk reset, and a %s-user library", intf(ScaleUsers))
	w.p("")
	w.f("DynamoDB serves about %s write units and %s read units a second per partition (%s, read %s). The aim is",
		intf(PartitionWriteUnitsPerSec), intf(PartitionReadUnitsPerSec), srcPartition, limitsReadOnDate)
	w.f("no key above %d writes a second at the template's maximum worker concurrency. That rate is computed from", HotKeyAimPerSec)
	w.p("the measured figures: maximum concurrency × the hottest key's writes per task ÷ the measured task time.")
	w.p("The time on AWS assumes every allowed worker busy: tasks ÷ concurrency × task time, or, if the hottest key")
	w.f("would pass %s writes a second, the hottest key's writes ÷ %s. The table's writes a second at that", intf(PartitionWriteUnitsPerSec), intf(PartitionWriteUnitsPerSec))
	w.f("concurrency are to be read against a new on-demand table's warm %s writes a second (it grows past them).", intf(NewTableWarmWritesPerSec))
	w.f("The per-task figures do not depend on the run's size, so the last columns take the same tasks to a library of %s users.", intf(ScaleUsers))
	w.p("")
	w.row("run", "users", "users per task", "tasks", "writes per task", "hottest key", "its writes per task",
		"max concurrency", "task ms", "peak locally /s", "at max concurrency /s", "under 300/s", "table writes /s at max", "minutes on AWS, this run",
		"minutes on AWS, "+intf(ScaleUsers)+" users", "bound by")
	w.sep(16)
	for i, s := range m.Scale {
		r := scale[i]
		under := "yes"
		if r.HotKeyPerSec > HotKeyAimPerSec {
			under = "**no**"
		}
		bound := "worker concurrency"
		if scaled[i].PartitionBound {
			bound = "the hot partition"
		}
		w.row(esc(s.Kind), intf(s.Users), intf(s.UsersPerTask), qty(r.Tasks), qty(s.WritesPerTask), "`"+esc(s.HottestKey)+"`",
			qty(s.HottestKeyWritesPerTask), intf(s.MaxConcurrency), num(s.TaskMs, 1), num(s.HottestKeyPeakPerSec, 1),
			num(r.HotKeyPerSec, 1), under, num(r.TableWritesPerSec, 1), num(r.Minutes, 1), num(scaled[i].Minutes, 1), bound)
	}
	w.p("")
	w.p("Other limits a growing library meets, with their default values (stored copies, read " + limitsReadOnDate + "):")
	w.p("")
	w.p("- DynamoDB on demand: 40,000 read and 40,000 write request units a second per table by default, raisable;")
	w.p("  a new on-demand table starts warm at 12,000 reads and 4,000 writes a second (" + srcDynamoQuotas + ", " + srcPartition + ").")
	w.p("- Lambda: 1,000 concurrent executions per account and Region by default, shared by every function; new")
	w.p("  accounts start lower (" + srcLambdaQuotas + ").")
	w.p("- API Gateway: 10,000 requests a second per account and Region across all APIs, with a burst bucket of 5,000")
	w.f("  (%s); the template throttles each route at %d a second with a burst of %d.", srcAPIGWQuotas, TemplateRouteRateLimit, TemplateRouteBurstLimit)
	w.p("- SES: the sending rate and daily quota are per account and Region; in the sandbox 1 a second and 200 a day,")
	w.p("  out of it \"based on your specific use case\" (" + srcSESQuotas + ").")
	w.f("  At the template's `NoticeSendRate` default of %d a second, one notice to each of %s patrons takes %s hours",
		TemplateNoticeSendRate, intf(ConsortiumPatrons), num(NoticeHours(ConsortiumPatrons, TemplateNoticeSendRate), 1))
	w.f("  (%s days).", num(NoticeHours(ConsortiumPatrons, TemplateNoticeSendRate)/24, 1))
	w.p("")

	w.p("## Not included")
	w.p("")
	w.p("- Data transfer out to the internet (API answers and e-mails are small), and CloudWatch log storage.")
	w.p("- What has no price in `docs/cost/prices.json`: the KMS key, CloudWatch alarms, X-Ray traces (`Tracing:")
	w.p("  Active`), and the SNS topic that carries SES's delivery events to `SesEventsFunction` (its Lambda")
	w.p("  invocations are counted; SNS's own delivery charge is not).")
	w.p("- Free tiers (listed under *Prices*), Savings Plans and negotiated discounts.")
	w.p("- The staff time to run the service, and everything outside it (the ILS, the library's web site).")
	return w.bytes()
}

// doc accumulates the document.
type doc struct {
	buf bytes.Buffer
}

func (w *doc) p(s string) {
	w.buf.WriteString(strings.TrimRight(s, " "))
	w.buf.WriteByte('\n')
}

func (w *doc) f(format string, args ...any) { w.p(fmt.Sprintf(format, args...)) }

func (w *doc) row(cells ...string) { w.p("| " + strings.Join(cells, " | ") + " |") }

func (w *doc) sep(n int) { w.p("|" + strings.Repeat("---|", n)) }

func (w *doc) bytes() ([]byte, error) { return w.buf.Bytes(), nil }

// esc keeps a value inside its table cell.
func esc(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

func codes(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + "`"
	}
	return out
}

func listOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

// mb is decimal megabytes, as the issue states the aim and the bench prints it.
func mb(b int64) float64 { return float64(b) / 1e6 }

// num formats v with dec decimals and thousands separators.
func num(v float64, dec int) string {
	if v == 0 {
		v = 0 // no "-0"
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

func intf(n int) string { return num(float64(n), 0) }

// qty prints a count with up to four decimals, trailing zeros dropped.
func qty(v float64) string {
	s := num(v, 4)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// usd prints dollars to the cent; amounts under half a cent are shown as such
// rather than as a misleading $0.00.
func usd(v float64) string {
	if v > 0 && v < 0.005 {
		return "< $0.01"
	}
	return "$" + num(v, 2)
}

func altPrice(alt Alternative) string {
	var parts []string
	for _, b := range alt.Bands {
		parts = append(parts, fmt.Sprintf("%s a month up to %s MAU", usd(b.USDPerMonth), intf(b.UpToMAU)))
	}
	prev := 0
	for _, t := range alt.Tiers {
		per := "$" + strconv.FormatFloat(t.USDPerMAU, 'f', -1, 64) + " per MAU"
		if t.USDPerMAU == 0 {
			per = "free"
		}
		if t.UpToMAU == 0 {
			parts = append(parts, fmt.Sprintf("%s above %s", per, intf(prev)))
		} else {
			parts = append(parts, fmt.Sprintf("%s from %s to %s", per, intf(prev+1), intf(t.UpToMAU)))
			prev = t.UpToMAU
		}
	}
	return strings.Join(parts, "; ")
}
