package costmodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Assumptions is docs/cost/assumptions.json: what a library's month is made
// of. Every rate is per active patron, so one file fits a library of any size;
// each carries the reason it was chosen, which the document prints beside it.
type Assumptions struct {
	Note          string `json:"note"`
	ActivePatrons []int  `json:"activePatrons"` // the library sizes the document prices
	// Patron is what each active patron does in a month; Library is what the
	// library's staff and jobs do, stated per active patron.
	Patron                      []Rate `json:"patron"`
	Library                     []Rate `json:"library"`
	RegisteredPerActive         Figure `json:"registeredPerActive"`
	StoredBytesPerPatron        Figure `json:"storedBytesPerPatron"`
	LogBytesPerInvocation       Figure `json:"logBytesPerInvocation"`
	AccessLogBytesPerAPIRequest Figure `json:"accessLogBytesPerAPIRequest"`
	ReportBytesPerImportRow     Figure `json:"reportBytesPerImportRow"`
	Secrets                     Figure `json:"secrets"`
	SecretAPICallsPerMonth      Figure `json:"secretAPICallsPerMonth"`
}

// Rate is how many of one measured operation an active patron accounts for in a month.
type Rate struct {
	Operation       string  `json:"operation"` // an Operation.Key
	PerActivePatron float64 `json:"perActivePatron"`
	Why             string  `json:"why"`
}

// Figure is one stated number and the reason for it.
type Figure struct {
	Value float64 `json:"value"`
	Why   string  `json:"why"`
}

// Prices is docs/cost/prices.json: list prices, each with where and when it was read.
type Prices struct {
	Region       string        `json:"region"`
	Currency     string        `json:"currency"`
	Note         string        `json:"note"`
	Items        []Price       `json:"items"`
	FreeTiers    []FreeTier    `json:"freeTiers"`
	Alternatives []Alternative `json:"alternatives"`
}

// Price is USD for Per units of Unit.
type Price struct {
	Key     string  `json:"key"`
	Service string  `json:"service"`
	What    string  `json:"what"`
	USD     float64 `json:"usd"`
	Per     float64 `json:"per"`
	Unit    string  `json:"unit"`
	Source  string  `json:"source"`
	Read    string  `json:"read"`
	Note    string  `json:"note,omitempty"`
}

// FreeTier is stated in the document and never subtracted: a library's bill
// shares the account's free tier with everything else the account runs.
type FreeTier struct {
	Service string `json:"service"`
	What    string `json:"what"`
	Source  string `json:"source"`
	Read    string `json:"read"`
	Note    string `json:"note,omitempty"`
}

// Alternative is a hosted identity service's list price for the same patrons,
// either graduated per-MAU tiers or flat monthly bands.
type Alternative struct {
	Name   string     `json:"name"`
	Plan   string     `json:"plan"`
	Source string     `json:"source"`
	Read   string     `json:"read"`
	Note   string     `json:"note,omitempty"`
	Tiers  []MAUTier  `json:"tiers,omitempty"`
	Bands  []PlanBand `json:"bands,omitempty"`
}

// MAUTier prices each MAU up to UpToMAU (0: no upper bound) above the previous tier.
type MAUTier struct {
	UpToMAU   int     `json:"upToMAU"`
	USDPerMAU float64 `json:"usdPerMAU"`
}

// PlanBand is a flat monthly price for up to UpToMAU.
type PlanBand struct {
	UpToMAU     int     `json:"upToMAU"`
	USDPerMonth float64 `json:"usdPerMonth"`
}

// The files the document is made from, relative to the repository root.
const (
	MeasuredFile    = "docs/cost/measured.json"
	AssumptionsFile = "docs/cost/assumptions.json"
	PricesFile      = "docs/cost/prices.json"
	DocumentFile    = "docs/COST.md"
)

// Load reads the three input files under root. A missing or malformed file is
// an error naming it, so a stale checkout says which file to regenerate.
func Load(root string) (Measured, Assumptions, Prices, error) {
	var (
		m Measured
		a Assumptions
		p Prices
	)
	for _, f := range []struct {
		name   string
		into   any
		strict bool
	}{
		// The bench may write fields this generator does not know yet.
		{MeasuredFile, &m, false},
		{AssumptionsFile, &a, true},
		{PricesFile, &p, true},
	} {
		if err := readJSON(filepath.Join(root, f.name), f.into, f.strict); err != nil {
			return m, a, p, err
		}
	}
	return m, a, p, nil
}

func readJSON(path string, into any, strict bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		// An unknown field is a misspelt figure that would silently count as zero.
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	if dec.More() {
		return fmt.Errorf("parse %s: more than one JSON value", path)
	}
	return nil
}

// Price keys the model needs; prices.json must have each.
const (
	keyLambdaRequest   = "lambda_request"
	keyLambdaGBSecond  = "lambda_gb_second_arm64"
	keyHTTPAPIRequest  = "httpapi_request"
	keyDynamoWRU       = "dynamodb_write_request_unit"
	keyDynamoRRU       = "dynamodb_read_request_unit"
	keyDynamoStorage   = "dynamodb_storage_gb_month"
	keySQSRequest      = "sqs_standard_request"
	keySESEmail        = "ses_outbound_email"
	keyS3Put           = "s3_put_request"
	keyS3Get           = "s3_get_request"
	keyS3Storage       = "s3_storage_gb_month"
	keySecretMonth     = "secretsmanager_secret_month"
	keySecretAPICall   = "secretsmanager_api_call"
	keyLogsIngestGB    = "cloudwatch_logs_ingest_gb"
	defaultSQSChunkLen = 64 * 1024
)

var requiredPrices = []string{
	keyLambdaRequest, keyLambdaGBSecond, keyHTTPAPIRequest, keyDynamoWRU, keyDynamoRRU,
	keyDynamoStorage, keySQSRequest, keySESEmail, keyS3Put, keyS3Get, keyS3Storage,
	keySecretMonth, keySecretAPICall, keyLogsIngestGB,
}

// rates is the price list by key, each as USD per one unit.
type rates map[string]float64

func (p Prices) rates() (rates, error) {
	r := rates{}
	var errs []error
	for i, it := range p.Items {
		switch {
		case it.Key == "":
			errs = append(errs, fmt.Errorf("prices item %d: no key", i))
		case it.Per <= 0:
			errs = append(errs, fmt.Errorf("price %s: per must be above 0, got %v", it.Key, it.Per))
		case it.USD < 0:
			errs = append(errs, fmt.Errorf("price %s: usd is negative", it.Key))
		case it.Source == "" || it.Read == "":
			errs = append(errs, fmt.Errorf("price %s: a price needs its source and the date it was read", it.Key))
		}
		if _, dup := r[it.Key]; dup {
			errs = append(errs, fmt.Errorf("price %s: listed twice", it.Key))
		}
		r[it.Key] = it.USD / it.Per
	}
	for _, k := range requiredPrices {
		if _, ok := r[k]; !ok {
			errs = append(errs, fmt.Errorf("prices: no %q", k))
		}
	}
	return r, errors.Join(errs...)
}

func (a Assumptions) validate() error {
	var errs []error
	if len(a.ActivePatrons) == 0 {
		errs = append(errs, errors.New("assumptions: activePatrons is empty"))
	}
	for _, n := range a.ActivePatrons {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("assumptions: activePatrons has %d", n))
		}
	}
	seen := map[string]bool{}
	for _, r := range append(append([]Rate{}, a.Patron...), a.Library...) {
		if r.Operation == "" {
			errs = append(errs, errors.New("assumptions: a rate has no operation"))
		}
		if seen[r.Operation] {
			errs = append(errs, fmt.Errorf("assumptions: %s is listed twice", r.Operation))
		}
		seen[r.Operation] = true
		if r.PerActivePatron < 0 {
			errs = append(errs, fmt.Errorf("assumptions: %s is negative", r.Operation))
		}
	}
	return errors.Join(errs...)
}
