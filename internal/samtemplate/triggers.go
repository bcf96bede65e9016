package samtemplate

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The import pipeline's resources: the bucket, the queues and the functions
// they trigger. They are read from the raw template rather than goformation's
// types, which lack SAM properties such as an SQS event's
// FunctionResponseTypes and ScalingConfig (goformation then drops the whole
// event).

// SQS's own defaults, for properties a queue or an SQS event leaves out.
const (
	defaultVisibilityTimeout = 30 * time.Second
	defaultRetention         = 4 * 24 * time.Hour
	defaultSQSBatchSize      = 10
)

// S3Trigger is a function's S3 event: objects created in a bucket of the
// template invoke it.
type S3Trigger struct {
	Function string   // logical id of the function
	Bucket   string   // logical id of the AWS::S3::Bucket
	Events   []string // e.g. ["s3:ObjectCreated:*"]
	Prefix   string   // the key filter's prefix rule; "" for none
	Suffix   string   // the key filter's suffix rule; "" for none
}

// SQSTrigger is a function's SQS event: an event source mapping that polls
// a queue of the template.
type SQSTrigger struct {
	Function                string // logical id of the function
	Queue                   string // logical id of the AWS::SQS::Queue
	BatchSize               int    // SQS's default 10 when not set
	ReportBatchItemFailures bool   // FunctionResponseTypes holds ReportBatchItemFailures
	MaxConcurrency          int    // ScalingConfig.MaximumConcurrency; 0 for none
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	LogicalID         string
	VisibilityTimeout time.Duration // SQS's default 30 s when not set
	Retention         time.Duration // MessageRetentionPeriod; SQS's default 4 days when not set
	DeadLetterQueue   string        // logical id of the RedrivePolicy's target; "" for none
	MaxReceiveCount   int           // the RedrivePolicy's; 0 without one
}

// rawResources returns the template's resources as raw data.
func (t *Template) rawResources() map[string]map[string]any {
	all, _ := t.raw["Resources"].(map[string]any)
	out := make(map[string]map[string]any, len(all))
	for id, r := range all {
		if m, ok := r.(map[string]any); ok {
			out[id] = m
		}
	}
	return out
}

// rawOfType returns the raw resources of one type, by sorted logical id.
func (t *Template) rawOfType(typ string) ([]string, map[string]map[string]any) {
	res := t.rawResources()
	var ids []string
	for id, r := range res {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, res
}

// rawEvents returns each serverless function's events of one type, in
// order of function and event name.
func (t *Template) rawEvents(typ string) (fns []string, props []map[string]any) {
	ids, res := t.rawOfType("AWS::Serverless::Function")
	for _, id := range ids {
		events, _ := dig(res[id], "Properties", "Events").(map[string]any)
		names := make([]string, 0, len(events))
		for name := range events {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ev, _ := events[name].(map[string]any)
			if ev["Type"] != typ {
				continue
			}
			p, _ := ev["Properties"].(map[string]any)
			fns, props = append(fns, id), append(props, p)
		}
	}
	return fns, props
}

// S3Triggers returns every S3 event of every function, by function and
// event name. An event whose Bucket is not !Ref of a bucket in the template
// (SAM requires one) has an empty Bucket.
func (t *Template) S3Triggers() []S3Trigger {
	fns, props := t.rawEvents("S3")
	out := make([]S3Trigger, 0, len(fns))
	for i, p := range props {
		tr := S3Trigger{Function: fns[i], Events: stringList(p["Events"])}
		if s, ok := p["Bucket"].(string); ok {
			tr.Bucket, _ = refTarget(s)
		}
		rules, _ := dig(p, "Filter", "S3Key", "Rules").([]any)
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			name, _ := rule["Name"].(string)
			value, _ := rule["Value"].(string)
			switch strings.ToLower(name) {
			case "prefix":
				tr.Prefix = value
			case "suffix":
				tr.Suffix = value
			}
		}
		out = append(out, tr)
	}
	return out
}

// SQSTriggers returns every SQS event of every function, by function and
// event name. An event whose Queue is not !GetAtt <Queue>.Arn of a queue in
// the template has an empty Queue.
func (t *Template) SQSTriggers() []SQSTrigger {
	fns, props := t.rawEvents("SQS")
	out := make([]SQSTrigger, 0, len(fns))
	for i, p := range props {
		tr := SQSTrigger{Function: fns[i], BatchSize: defaultSQSBatchSize}
		if s, ok := p["Queue"].(string); ok {
			tr.Queue = arnTarget(s)
		}
		if n, ok := number(p["BatchSize"]); ok {
			tr.BatchSize = n
		}
		tr.ReportBatchItemFailures = slices.Contains(stringList(p["FunctionResponseTypes"]), "ReportBatchItemFailures")
		if n, ok := number(dig(p, "ScalingConfig", "MaximumConcurrency")); ok {
			tr.MaxConcurrency = n
		}
		out = append(out, tr)
	}
	return out
}

// Queues returns every AWS::SQS::Queue, by logical id.
func (t *Template) Queues() []Queue {
	ids, res := t.rawOfType("AWS::SQS::Queue")
	out := make([]Queue, 0, len(ids))
	for _, id := range ids {
		p, _ := res[id]["Properties"].(map[string]any)
		q := Queue{LogicalID: id, VisibilityTimeout: defaultVisibilityTimeout, Retention: defaultRetention}
		if n, ok := number(p["VisibilityTimeout"]); ok {
			q.VisibilityTimeout = time.Duration(n) * time.Second
		}
		if n, ok := number(p["MessageRetentionPeriod"]); ok {
			q.Retention = time.Duration(n) * time.Second
		}
		if rp, ok := p["RedrivePolicy"].(map[string]any); ok {
			if s, ok := rp["deadLetterTargetArn"].(string); ok {
				q.DeadLetterQueue = arnTarget(s)
			}
			q.MaxReceiveCount, _ = number(rp["maxReceiveCount"])
		}
		out = append(out, q)
	}
	return out
}

// BucketName returns the BucketName of the AWS::S3::Bucket logicalID as the
// local stack names it: a !Sub of pseudo parameters and parameters resolves
// with their local stand-ins (AWS::StackName is "libaccounts-local").
func (t *Template) BucketName(logicalID string) (string, error) {
	r, ok := t.rawResources()[logicalID]
	if !ok {
		return "", fmt.Errorf("samtemplate: no resource %q", logicalID)
	}
	if r["Type"] != "AWS::S3::Bucket" {
		return "", fmt.Errorf("samtemplate: %s is a %v, not an AWS::S3::Bucket", logicalID, r["Type"])
	}
	name, _ := dig(r, "Properties", "BucketName").(string)
	switch {
	case name == "":
		return "", fmt.Errorf("samtemplate: %s has no BucketName (the local stack needs a name it can work out)", logicalID)
	case placeholderRE.MatchString(name):
		return "", fmt.Errorf("samtemplate: %s: BucketName %q refers to a resource; use parameters and pseudo parameters only", logicalID, name)
	}
	return name, nil
}

// dig walks nested maps of raw template data.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// arnTarget returns Id of a "${Id.Arn}" placeholder, or "".
func arnTarget(s string) string {
	m := placeholderRE.FindStringSubmatch(s)
	if m == nil || m[0] != s {
		return ""
	}
	id, ok := strings.CutSuffix(m[1], ".Arn")
	if !ok || strings.Contains(id, ".") {
		return ""
	}
	return id
}

// stringList reads a string-or-list value.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// number reads a whole number written as a number or a string (parameter
// references resolve to strings).
func number(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		return int(x), x == float64(int(x))
	case string:
		n, err := strconv.Atoi(x)
		return n, err == nil
	}
	return 0, false
}

// SNSTrigger is a function's SNS event: every message published to a topic
// of the template invokes it (asynchronously, as Lambda does for SNS).
type SNSTrigger struct {
	Function string // logical id of the function
	Topic    string // logical id of the AWS::SNS::Topic; "" when Topic is not !Ref of one
}

// SNSTriggers returns every SNS event of every function, by function and
// event name.
func (t *Template) SNSTriggers() []SNSTrigger {
	fns, props := t.rawEvents("SNS")
	out := make([]SNSTrigger, 0, len(fns))
	for i, p := range props {
		tr := SNSTrigger{Function: fns[i]}
		if s, ok := p["Topic"].(string); ok {
			if id, ok := refTarget(s); ok {
				if r := t.rawResources()[id]; r["Type"] == "AWS::SNS::Topic" {
					tr.Topic = id
				}
			}
		}
		out = append(out, tr)
	}
	return out
}

// ConfigurationSet is an AWS::SES::ConfigurationSet with the event
// destinations (AWS::SES::ConfigurationSetEventDestination) attached to it.
type ConfigurationSet struct {
	LogicalID    string
	Name         string // as the local stack names it (pseudo parameters resolved)
	Destinations []EventDestination
}

// EventDestination is where SES publishes a configuration set's events.
type EventDestination struct {
	LogicalID string
	Name      string
	Enabled   bool     // CloudFormation's default is false: nothing is published
	Events    []string // MatchingEventTypes as the template writes them: bounce, complaint, delivery, ...
	Topic     string   // logical id of the SnsDestination's AWS::SNS::Topic; "" for another kind of destination
}

// ConfigurationSets returns every SES configuration set by logical id, each
// with its event destinations by logical id. A set must be named (the
// function sending with it is told the name, and the local SES must know
// it), with parameters and pseudo parameters only.
func (t *Template) ConfigurationSets() ([]ConfigurationSet, error) {
	ids, res := t.rawOfType("AWS::SES::ConfigurationSet")
	byID := map[string]*ConfigurationSet{}
	out := make([]ConfigurationSet, 0, len(ids))
	for _, id := range ids {
		name, _ := dig(res[id], "Properties", "Name").(string)
		switch {
		case name == "":
			return nil, fmt.Errorf("samtemplate: %s has no Name (the local SES needs the name a send gives)", id)
		case placeholderRE.MatchString(name):
			return nil, fmt.Errorf("samtemplate: %s: Name %q refers to a resource; use parameters and pseudo parameters only", id, name)
		}
		out = append(out, ConfigurationSet{LogicalID: id, Name: name})
	}
	for i := range out {
		byID[out[i].LogicalID] = &out[i]
	}
	destIDs, _ := t.rawOfType("AWS::SES::ConfigurationSetEventDestination")
	for _, id := range destIDs {
		p, _ := res[id]["Properties"].(map[string]any)
		setRef, _ := p["ConfigurationSetName"].(string)
		setID, ok := refTarget(setRef)
		set := byID[setID]
		if !ok || set == nil {
			return nil, fmt.Errorf("samtemplate: %s: ConfigurationSetName must be !Ref of a configuration set of the template, got %q", id, setRef)
		}
		d := EventDestination{LogicalID: id}
		d.Name, _ = dig(p, "EventDestination", "Name").(string)
		d.Enabled, _ = dig(p, "EventDestination", "Enabled").(bool)
		d.Events = stringList(dig(p, "EventDestination", "MatchingEventTypes"))
		if s, ok := dig(p, "EventDestination", "SnsDestination", "TopicARN").(string); ok {
			if topic, ok := refTarget(s); ok && res[topic]["Type"] == "AWS::SNS::Topic" {
				d.Topic = topic
			}
		}
		set.Destinations = append(set.Destinations, d)
	}
	return out, nil
}

// ScheduleTrigger is a function's Schedule event: EventBridge invokes it
// with a "Scheduled Event" every Rate.
type ScheduleTrigger struct {
	Function string // logical id of the function
	Name     string // the event's name in the template
	Rate     time.Duration
}

// ScheduleTriggers returns every Schedule event of every function, by
// function and event name. Only rate(...) expressions are read: a cron
// expression has no fixed period the local stack could keep, so it is an
// error rather than a schedule that silently never fires.
func (t *Template) ScheduleTriggers() ([]ScheduleTrigger, error) {
	ids, res := t.rawOfType("AWS::Serverless::Function")
	var out []ScheduleTrigger
	for _, id := range ids {
		evs, _ := dig(res[id], "Properties", "Events").(map[string]any)
		names := make([]string, 0, len(evs))
		for name := range evs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ev, _ := evs[name].(map[string]any)
			if ev["Type"] != "Schedule" {
				continue
			}
			expr, _ := dig(ev, "Properties", "Schedule").(string)
			rate, err := parseRate(expr)
			if err != nil {
				return nil, fmt.Errorf("samtemplate: %s.%s: %w", id, name, err)
			}
			out = append(out, ScheduleTrigger{Function: id, Name: name, Rate: rate})
		}
	}
	return out, nil
}

// parseRate reads an EventBridge rate expression: rate(1 minute),
// rate(5 minutes), rate(2 hours), rate(1 day).
func parseRate(expr string) (time.Duration, error) {
	inner, ok := strings.CutPrefix(expr, "rate(")
	if inner, ok = strings.CutSuffix(inner, ")"); !ok {
		return 0, fmt.Errorf("schedule %q is not a rate(...) expression", expr)
	}
	num, unit, _ := strings.Cut(strings.TrimSpace(inner), " ")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("schedule %q: the rate must be a whole number of at least 1", expr)
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	// EventBridge wants the singular for 1 and the plural otherwise.
	singular := strings.TrimSuffix(unit, "s")
	d, ok := units[singular]
	if !ok || (n == 1) != (unit == singular) {
		return 0, fmt.Errorf("schedule %q: unit %q, want minute(s), hour(s) or day(s) agreeing with the number", expr, unit)
	}
	return time.Duration(n) * d, nil
}
