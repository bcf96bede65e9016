package costmodel_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/libaccounts/libaccounts/internal/costmodel"
)

const repoRoot = "../.."

// TestCostDocumentMatchesMeasuredFigures holds docs/COST.md to what the
// measured figures, assumptions and prices on disk give, so a changed price,
// assumption or measurement without a regenerated document fails `make test`.
func TestCostDocumentMatchesMeasuredFigures(t *testing.T) {
	m, a, p, err := costmodel.Load(repoRoot)
	if err != nil {
		t.Fatalf("%v\nrun make cost (measure and regenerate) or make cost-doc (regenerate)", err)
	}
	want, err := costmodel.Render(m, a, p)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(repoRoot, costmodel.DocumentFile))
	if err != nil {
		t.Fatalf("%v: run make cost-doc", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what docs/cost/*.json give (first difference at line %d): run make cost-doc",
			costmodel.DocumentFile, firstDiffLine(got, want))
	}
}

func firstDiffLine(a, b []byte) int {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(al) && i < len(bl); i++ {
		if !bytes.Equal(al[i], bl[i]) {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// sample renders the fixture measurement with the repository's assumptions
// and prices.
func sample(t testing.TB) (costmodel.Measured, costmodel.Assumptions, costmodel.Prices) {
	t.Helper()
	_, a, p, err := costmodel.Load(repoRoot)
	if err != nil && !strings.Contains(err.Error(), costmodel.MeasuredFile) {
		t.Fatal(err)
	}
	if err != nil {
		// Only the measurement is missing: read the other two on their own.
		a, p = readAssumptions(t), readPrices(t)
	}
	b, err := os.ReadFile("testdata/measured.json")
	if err != nil {
		t.Fatal(err)
	}
	var m costmodel.Measured
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m, a, p
}

func readAssumptions(t testing.TB) costmodel.Assumptions {
	t.Helper()
	var a costmodel.Assumptions
	readInto(t, costmodel.AssumptionsFile, &a)
	return a
}

func readPrices(t testing.TB) costmodel.Prices {
	t.Helper()
	var p costmodel.Prices
	readInto(t, costmodel.PricesFile, &p)
	return p
}

func readInto(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestRenderShowsTheFigures(t *testing.T) {
	m, a, p := sample(t)
	// Fixed figures so the expected lines do not move with the repository's
	// assumptions: 4 sign-ins and 0.1 notices per active patron.
	a.ActivePatrons = []int{1000, 100000}
	a.Patron = []costmodel.Rate{{Operation: "login_ok", PerActivePatron: 4, Why: "weekly"}, {Operation: "renewal", PerActivePatron: 1, Why: "monthly"}}
	a.Library = []costmodel.Rate{{Operation: "notice", PerActivePatron: 0.1, Why: "resets"}}
	out, err := costmodel.Render(m, a, p)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(out)
	cases := []struct {
		name, want string
	}{
		{"how it is made", "`make cost-doc` (`go run ./cmd/costdoc`)"},
		{"what was measured, where", "Measured 2026-12-01T10:00:00Z on linux/amd64, 2 CPUs"},
		// 1 request, 62 billed ms at 1 GB, 2 RCU, 5 WCU and 1,000 log bytes.
		{"the sign-in row", "| sign-in (success) (`login_ok`) | 20 | 1 | 1 | 62 | 0.062 | 4 | 2 | 5 | 0 | 0 | 0 | $5.87 |"},
		{"the notice row: the e-mail dominates", "| one notice (`notice`) | 1,000 | 0 | 0.1 | 72 | 0.072 | 2 | 0 | 2 | 0.2 | 1 | 0 | $102.34 |"},
		{"a function line", "| `me` | AuthorizerFunction | 1 | 3.1 | 256 |"},
		{"an API line", "| `notice` | ses | SendRawEmail | 1 |"},
		{"the assumption with its reason", "| `login_ok` | 4 | 4,000 | 400,000 | weekly |"},
		{"an unmeasured assumption is marked", "| `renewal` (not measured) | 1 | 1,000 | 100,000 | monthly |"},
		{"and left out of the totals, plainly", "Assumed but not measured, so **left out of every total above**: `renewal`."},
		{"Cognito Essentials at 100,000: 90,000 × $0.015", "$1,350.00 ($13.50 per 1,000)"},
		{"Auth0 has no price at 100,000", "no list price found"},
		{"the caveat", "excludes the staff\ntime to deploy, run, patch and watch it"},
		{"a price with its page and date", "| DynamoDB | on-demand write request units | $0.625 per 1,000,000 write request units | https://aws.amazon.com/dynamodb/pricing/on-demand/ | 2026-12-02 |"},
		{"free tiers stated, not applied", "Free tiers, stated and **not** subtracted"},
		{"a binary over the aim", "| ImportsWorkerFunction | 13.6 | 33.5 | 3,538 | **no**: size and init |"},
		{"a binary within it", "| AuthorizerFunction | 8.4 | 11.9 | 256 | yes |"},
		{"a binary slow to start", "| ImportsIngestFunction | 10.5 | 30.5 | 1,024 | **no**: init |"},
		{"a binary too big", "| JobsWorkerFunction | 12.6 | 20.0 | 512 | **no**: size |"},
		{"the binaries summed up", "5 functions; the largest is ImportsWorkerFunction at 13.6 MB, the slowest to start ImportsWorkerFunction at 33.5 ms; over an aim: ImportsIngestFunction, ImportsWorkerFunction, JobsWorkerFunction."},
		{"the scale row", "| reset | 100,000 | 100 | 1,000 | 202 | `T#<tenant>#JOB#<id>` | 2 | 10 | 1,500.0 | 41.5 | 13.3 | yes | 1,346.7 | 2.5 | 2.5 | worker concurrency |"},
		{"the scale row taken to 100,000 users", "| import | 2,000 | 250 | 8 | 1,500 | `T#<tenant>#AUDIT#<yyyy-mm>` | 250 | 20 | 1,000.0 | 500.0 | 5,000.0 | **no** | 30,000.0 | 0.0 | 1.7 | the hot partition |"},
		{"the partition limit, cited", "about 1,000 write units and 3,000 read units a second per partition (https://docs.aws.amazon.com/amazondynamodb/"},
		{"a notice to a consortium", "one notice to each of 5,000,000 patrons takes 99.2 hours"},
	}
	for _, c := range cases {
		if !strings.Contains(doc, c.want) {
			t.Errorf("%s: the document lacks %q", c.name, c.want)
		}
	}
	// 1,000 active patrons: 4,000 sign-ins, 100 notices, 2.5 × 2 KiB stored
	// per patron and the secret.
	signIn, notice := 5.8673e-6, 102.3435e-6
	month := 4000*signIn + 100*notice + 1000*2.5*2048/(1<<30)*0.25 + 0.40
	if want := "| 1,000 | $" + strconv.FormatFloat(month, 'f', 2, 64) + " |"; !strings.Contains(doc, want) {
		t.Errorf("the summary lacks %q", want)
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	m, a, p := sample(t)
	first, err := costmodel.Render(m, a, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		// Fresh maps each time: Go randomizes their iteration order per map.
		m2, a2, p2 := sample(t)
		again, err := costmodel.Render(m2, a2, p2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("render %d differs at line %d", i, firstDiffLine(first, again))
		}
	}
}

func TestLoadRefusesMisspeltFigures(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs", "cost"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(costmodel.MeasuredFile, `{"operations": [], "aFieldTheBenchAddedLater": 1}`)
	write(costmodel.PricesFile, `{"items": []}`)
	write(costmodel.AssumptionsFile, `{"activePatrons": [1000], "patron": [{"operation": "me", "perActivePatorn": 8}]}`)
	_, _, _, err := costmodel.Load(root)
	if err == nil || !strings.Contains(err.Error(), costmodel.AssumptionsFile) || !strings.Contains(err.Error(), "perActivePatorn") {
		t.Fatalf("Load = %v, want the misspelt assumption named", err)
	}
	write(costmodel.AssumptionsFile, `{"activePatrons": [1000]}`)
	if _, _, _, err := costmodel.Load(root); err != nil {
		t.Fatalf("a measurement with a field the generator does not know yet was refused: %v", err)
	}
}

// TestDocumentedLimitsMatchTemplate keeps the template limits the document
// quotes equal to template.yaml's.
func TestDocumentedLimitsMatchTemplate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		re   string
		want int
	}{
		{"route rate limit", `(?m)^\s+ThrottlingRateLimit:\s*(\d+)`, costmodel.TemplateRouteRateLimit},
		{"route burst limit", `(?m)^\s+ThrottlingBurstLimit:\s*(\d+)`, costmodel.TemplateRouteBurstLimit},
		{"NoticeSendRate default", `(?m)^  NoticeSendRate:\n(?:    .*\n)*?    Default:\s*(\d+)`, costmodel.TemplateNoticeSendRate},
	}
	for _, c := range cases {
		mm := regexp.MustCompile(c.re).FindSubmatch(b)
		if mm == nil {
			t.Errorf("%s: not found in template.yaml", c.name)
			continue
		}
		if got, _ := strconv.Atoi(string(mm[1])); got != c.want {
			t.Errorf("%s: template.yaml says %d, the document says %d", c.name, got, c.want)
		}
	}
}

func TestNumberFormats(t *testing.T) {
	m, a, p := sample(t)
	a.ActivePatrons = []int{1234567}
	out, err := costmodel.Render(m, a, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 1,234,567 | $", "< $0.01"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the document lacks %q", want)
		}
	}
	if strings.Contains(string(out), "-0") && regexp.MustCompile(`\| -0(\.0+)? \|`).Match(out) {
		t.Error("the document prints a negative zero")
	}
}
