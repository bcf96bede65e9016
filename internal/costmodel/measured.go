// Package costmodel turns what the cost bench measured through the local stack
// (docs/cost/measured.json), stated assumptions about a library's month
// (docs/cost/assumptions.json) and cited AWS list prices (docs/cost/prices.json)
// into docs/COST.md. The document is generated, never edited by hand, so that a
// figure in it can always be traced back to a measurement and a price page.
package costmodel

import "time"

// Measured is docs/cost/measured.json: what `make cost` measured through the local stack.
type Measured struct {
	MeasuredAt time.Time   `json:"measuredAt"`
	Commit     string      `json:"commit"`
	Machine    string      `json:"machine"` // e.g. "linux/amd64, 2 CPUs"
	Operations []Operation `json:"operations"`
	Functions  []Function  `json:"functions"`
	Scale      []ScaleRun  `json:"scale"`
}

// Operation is one thing a library's month is made of, measured once (or averaged over N).
type Operation struct {
	Key         string                        `json:"key"`         // stable id: login_ok, login_fail, me, staff_edit, import_row_librarypass, ...
	Name        string                        `json:"name"`        // human: "sign-in (success)"
	Samples     int                           `json:"samples"`     // how many were measured; figures below are per one
	APIRequests float64                       `json:"apiRequests"` // HTTP API requests per one
	Invocations map[string]float64            `json:"invocations"` // function logical id -> invocations per one (authorizer included)
	DurationMs  map[string]float64            `json:"durationMs"`  // function -> mean measured duration per invocation
	MemoryMB    map[string]int                `json:"memoryMB"`    // function -> template MemorySize
	Requests    map[string]map[string]float64 `json:"requests"`    // service ("dynamodb","s3","sqs","ses") -> API name -> per one
	ReadUnits   float64                       `json:"readUnits"`   // DynamoDB RCU (ConsumedCapacity TOTAL) per one
	WriteUnits  float64                       `json:"writeUnits"`  // DynamoDB WCU per one
	SQSBytes    float64                       `json:"sqsBytes,omitempty"`
}

// Function is one Lambda binary as built for deployment.
type Function struct {
	LogicalID   string  `json:"logicalId"`
	BinaryBytes int64   `json:"binaryBytes"` // linux/arm64 stripped, as `make build`
	InitMs      float64 `json:"initMs"`      // process start -> first /runtime/invocation/next, measured locally
	MemoryMB    int     `json:"memoryMB"`
}

// ScaleRun is a 100,000-user library's import or bulk reset.
type ScaleRun struct {
	Kind                    string  `json:"kind"` // "import" | "reset"
	Users                   int     `json:"users"`
	WritesPerTask           float64 `json:"writesPerTask"` // measured DynamoDB writes per queue task
	UsersPerTask            int     `json:"usersPerTask"`
	HottestKey              string  `json:"hottestKey"` // redacted shape e.g. "T#<tenant>#JOB#<id>"
	HottestKeyWrites        int     `json:"hottestKeyWrites"`
	HottestKeyPeakPerSec    float64 `json:"hottestKeyPeakPerSec"` // measured locally
	HottestKeyWritesPerTask float64 `json:"hottestKeyWritesPerTask"`
	MaxConcurrency          int     `json:"maxConcurrency"`        // template's worker MaximumConcurrency
	TaskMs                  float64 `json:"taskMs"`                // measured mean task duration
	HottestKeyPerSecAtMax   float64 `json:"hottestKeyPerSecAtMax"` // computed: MaxConcurrency * HottestKeyWritesPerTask / (TaskMs/1000)
	AWSMinutesAtMax         float64 `json:"awsMinutesAtMax"`       // computed: time the run would take on AWS at those limits
}
