package sdkmeter

import (
	"encoding/json"
	"slices"
	"time"
)

// Namespace is the CloudWatch namespace of the metrics EMF lines publish.
const Namespace = "libaccounts"

// Per-service request metric names, e.g. "DynamoDBRequests".
var serviceMetric = map[string]string{"dynamodb": "DynamoDBRequests", "s3": "S3Requests", "sqs": "SQSRequests", "ses": "SESRequests"}

// EMF renders counts as one CloudWatch Embedded Metric Format line (with
// its newline): on AWS the log line becomes metrics with no API call, and
// locally the cost bench reads the same line.
//
// Only a handful of metrics are published, without dimensions (each
// metric and dimension value is a custom metric billed by the month): the
// read and write units and the requests per service. The function, the
// per-API counts and, when keys is set, the writes per partition key are
// plain properties, which Logs Insights can query for nothing more.
func (c Counts) EMF(function, requestID string, at time.Time, keys bool) []byte {
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	doc := map[string]any{
		"function":   function,
		"ReadUnits":  c.ReadUnits,
		"WriteUnits": c.WriteUnits,
	}
	if requestID != "" {
		doc["requestId"] = requestID
	}
	metrics := []metric{{"ReadUnits", "Count"}, {"WriteUnits", "Count"}}
	services := make([]string, 0, len(c.Requests))
	for svc := range c.Requests {
		services = append(services, svc)
	}
	slices.Sort(services)
	for _, svc := range services {
		name, ok := serviceMetric[svc]
		if !ok {
			continue // a service the cost model does not price: properties only
		}
		n := 0
		for _, k := range c.Requests[svc] {
			n += k
		}
		doc[name] = n
		metrics = append(metrics, metric{name, "Count"})
	}
	if len(c.Requests) > 0 {
		doc["requests"] = c.Requests
	}
	if c.FailedWrites > 0 {
		doc["failedWrites"] = c.FailedWrites
	}
	if keys && len(c.KeyWrites) > 0 {
		doc["keyWrites"] = c.KeyWrites
	}
	doc["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{}},
			"Metrics":    metrics,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		// Only numbers, strings and maps of them: cannot fail.
		panic(err)
	}
	return append(line, '\n')
}

// Line is an EMF line as the cost bench reads it back.
type Line struct {
	Function     string                    `json:"function"`
	RequestID    string                    `json:"requestId"`
	Requests     map[string]map[string]int `json:"requests"`
	ReadUnits    float64                   `json:"ReadUnits"`
	WriteUnits   float64                   `json:"WriteUnits"`
	FailedWrites int                       `json:"failedWrites"`
	KeyWrites    map[string]int            `json:"keyWrites"`
	AWS          *json.RawMessage          `json:"_aws"`
}

// ParseLine reads a line EMF wrote; ok is false for any other line.
func ParseLine(line []byte) (l Line, ok bool) {
	if err := json.Unmarshal(line, &l); err != nil || l.AWS == nil || l.Function == "" {
		return Line{}, false
	}
	return l, true
}
