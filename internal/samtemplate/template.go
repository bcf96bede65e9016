// Package samtemplate reads the project's SAM template (template.yaml) as
// data, so that the local stack runs exactly the functions, routes,
// environment and table the deployed stack has, and so that tests can check
// the template's structure.
//
// The template is parsed with goformation; see intrinsics.go for how !Ref,
// !GetAtt and !Sub are resolved.
package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	cfnddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Lambda's own defaults, for properties set neither on a function nor in
// Globals.
const (
	defaultMemoryMB = 128
	defaultTimeout  = 3 * time.Second
)

// Template is a loaded SAM template.
type Template struct {
	// cfn is goformation's typed view of the template.
	cfn *cloudformation.Template
	// raw is the same template as generic JSON data after intrinsic
	// resolution, for the SAM-only properties goformation types as
	// interface{} (e.g. HttpApi authorizers).
	raw map[string]any
}

// Route is one HTTP API route.
type Route struct {
	Method     string // upper case, e.g. "POST"
	Path       string // e.g. "/v1/admin/users/{id}"
	Function   string // logical id of the function serving it
	Authorized bool   // the route goes through the API's Lambda authorizer
}

// Authorizer is the HTTP API's default Lambda authorizer.
type Authorizer struct {
	Function       string        // logical id of the authorizer function
	IdentityHeader string        // request header API Gateway requires before invoking it, e.g. "Authorization"; "" for none (it is then invoked on every request)
	TTL            time.Duration // how long API Gateway caches a decision (ReauthorizeEvery); 0 without an identity source
}

// Function is one AWS::Serverless::Function with Globals applied.
type Function struct {
	LogicalID string
	Dir       string // "functions/auth-login", from the naming convention
	MemoryMB  int
	Timeout   time.Duration
	// Env is Globals' variables overlaid with the function's own; parameter
	// references hold the parameters' Defaults and resource references the
	// values given to Functions.
	Env    map[string]string
	Routes []Route
}

// goformation registers its YAML tag resolvers in a package-level map on
// every parse, so concurrent parses would race.
var parseMu sync.Mutex

// Load parses the SAM template at path.
func Load(path string) (*Template, error) {
	return load(path, nil)
}

// LoadWithParameters parses the template with parameter Defaults replaced
// by params, as a deploy with parameter overrides sees it. A name the
// template does not declare is an error.
func LoadWithParameters(path string, params map[string]string) (*Template, error) {
	return load(path, params)
}

// load parses the template with parameter Defaults replaced by params.
func load(path string, params map[string]string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	parseMu.Lock()
	processed, err := intrinsics.ProcessYAML(data, processorOptions(params))
	parseMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", path, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", path, err)
	}
	if len(params) > 0 {
		declared, _ := raw["Parameters"].(map[string]any)
		for name := range params {
			if _, ok := declared[name]; !ok {
				return nil, fmt.Errorf("samtemplate: %s: no parameter %q", path, name)
			}
		}
	}
	typed, err := json.Marshal(goformationCompat(raw))
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", path, err)
	}
	// Intrinsics are already resolved above; goformation only types the result.
	cfn, err := goformation.ParseJSONWithOptions(typed, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: goformation: %w", path, err)
	}
	return &Template{cfn: cfn, raw: raw}, nil
}

// goformationCompat returns a copy of the template with SAM property names
// goformation v7's schema spells differently, so its strict decoders accept
// them. Only the resources' top-level property names are touched.
func goformationCompat(raw map[string]any) map[string]any {
	renames := map[string]map[string]string{
		// SAM documents AccessLogSettings; goformation's schema has the
		// singular form and rejects unknown fields.
		"AWS::Serverless::HttpApi": {"AccessLogSettings": "AccessLogSetting"},
	}
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		out[k] = v
	}
	resources, _ := raw["Resources"].(map[string]any)
	newResources := make(map[string]any, len(resources))
	for id, r := range resources {
		newResources[id] = r
		res, ok := r.(map[string]any)
		if !ok {
			continue
		}
		typ, _ := res["Type"].(string)
		props, _ := res["Properties"].(map[string]any)
		if renames[typ] == nil || props == nil {
			continue
		}
		newProps := make(map[string]any, len(props))
		for k, v := range props {
			if to, ok := renames[typ][k]; ok {
				k = to
			}
			newProps[k] = v
		}
		newRes := make(map[string]any, len(res))
		for k, v := range res {
			newRes[k] = v
		}
		newRes["Properties"] = newProps
		newResources[id] = newRes
	}
	if resources != nil {
		out["Resources"] = newResources
	}
	return out
}

// globalFunction returns Globals.Function, or an empty one.
func (t *Template) globalFunction() *global.Function {
	if g, ok := t.cfn.Globals["Function"].(*global.Function); ok {
		return g
	}
	return &global.Function{}
}

// functions returns the serverless functions and their sorted logical ids.
func (t *Template) functions() ([]string, map[string]*serverless.Function) {
	all := t.cfn.GetAllServerlessFunctionResources()
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, all
}

// Functions returns every AWS::Serverless::Function, sorted by logical id,
// with Globals applied. refs maps resource references to local values, e.g.
// {"AccountsTable": "libaccounts"} for !Ref AccountsTable, or
// {"AccountsTable.Arn": "..."} for a !GetAtt; a reference in an environment
// variable that refs does not cover is an error naming it.
func (t *Template) Functions(refs map[string]string) ([]Function, error) {
	g := t.globalFunction()
	ids, all := t.functions()
	out := make([]Function, 0, len(ids))
	for _, id := range ids {
		f := all[id]
		dir, err := DirForLogicalID(id)
		if err != nil {
			return nil, err
		}
		fn := Function{
			LogicalID: id,
			Dir:       dir,
			MemoryMB:  defaultMemoryMB,
			Timeout:   defaultTimeout,
			Env:       map[string]string{},
		}
		switch {
		case f.MemorySize != nil:
			fn.MemoryMB = *f.MemorySize
		case g.MemorySize != nil:
			fn.MemoryMB = *g.MemorySize
		}
		switch {
		case f.Timeout != nil:
			fn.Timeout = time.Duration(*f.Timeout) * time.Second
		case g.Timeout != nil:
			fn.Timeout = time.Duration(*g.Timeout) * time.Second
		}
		if g.Environment != nil {
			for k, v := range g.Environment.Variables {
				fn.Env[k] = v
			}
		}
		if f.Environment != nil {
			for k, v := range f.Environment.Variables {
				fn.Env[k] = v
			}
		}
		names := make([]string, 0, len(fn.Env))
		for k := range fn.Env {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v, missing := substitute(fn.Env[k], refs)
			if len(missing) > 0 {
				return nil, fmt.Errorf("samtemplate: %s: environment variable %s: unresolved reference %q (give it a local value in refs)", id, k, missing[0])
			}
			fn.Env[k] = v
		}
		fn.Routes = t.routesOf(id, f)
		out = append(out, fn)
	}
	return out, nil
}

// Routes returns every HttpApi route of every function, sorted by path and
// method.
func (t *Template) Routes() []Route {
	ids, all := t.functions()
	var out []Route
	for _, id := range ids {
		out = append(out, t.routesOf(id, all[id])...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// routesOf returns the HttpApi routes of one function, sorted by event name.
func (t *Template) routesOf(id string, f *serverless.Function) []Route {
	names := make([]string, 0, len(f.Events))
	for name := range f.Events {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []Route
	for _, name := range names {
		ev := f.Events[name]
		if ev.Type != "HttpApi" || ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
			continue
		}
		h := ev.Properties.HttpApiEvent
		r := Route{Function: id}
		if h.Method != nil {
			r.Method = strings.ToUpper(*h.Method)
		}
		if h.Path != nil {
			r.Path = *h.Path
		}
		authorizer := ""
		if h.Auth != nil && h.Auth.Authorizer != nil {
			authorizer = *h.Auth.Authorizer
		} else {
			authorizer = t.defaultAuthorizer(h.ApiId)
		}
		r.Authorized = authorizer != "" && authorizer != "NONE"
		out = append(out, r)
	}
	return out
}

// refTarget returns the logical id in a "${Id}" placeholder.
func refTarget(s string) (string, bool) {
	m := placeholderRE.FindStringSubmatch(s)
	if m == nil || m[0] != s || strings.Contains(m[1], ".") {
		return "", false
	}
	return m[1], true
}

// defaultAuthorizer returns the DefaultAuthorizer of the HttpApi an event's
// ApiId refers to ("" when none; an event without ApiId uses SAM's implicit
// API, which has no authorizer).
func (t *Template) defaultAuthorizer(apiID *string) string {
	if apiID == nil {
		return ""
	}
	id, ok := refTarget(*apiID)
	if !ok {
		return ""
	}
	api, ok := t.cfn.Resources[id].(*serverless.HttpApi)
	if !ok || api.Auth == nil || api.Auth.DefaultAuthorizer == nil {
		return ""
	}
	return *api.Auth.DefaultAuthorizer
}

// Authorizer returns the default Lambda authorizer of the template's single
// HttpApi.
func (t *Template) Authorizer() (Authorizer, error) {
	apis := t.cfn.GetAllServerlessHttpApiResources()
	if len(apis) != 1 {
		return Authorizer{}, fmt.Errorf("samtemplate: want exactly one AWS::Serverless::HttpApi, found %d", len(apis))
	}
	var apiID string
	var api *serverless.HttpApi
	for id, a := range apis {
		apiID, api = id, a
	}
	if api.Auth == nil || api.Auth.DefaultAuthorizer == nil || *api.Auth.DefaultAuthorizer == "" {
		return Authorizer{}, fmt.Errorf("samtemplate: %s has no Auth.DefaultAuthorizer", apiID)
	}
	name := *api.Auth.DefaultAuthorizer
	all, _ := api.Auth.Authorizers.(map[string]any)
	conf, ok := all[name].(map[string]any)
	if !ok {
		return Authorizer{}, fmt.Errorf("samtemplate: %s: authorizer %q is not defined in Auth.Authorizers", apiID, name)
	}
	arn, _ := conf["FunctionArn"].(string)
	ref, ok := strings.CutSuffix(strings.TrimSuffix(strings.TrimPrefix(arn, "${"), "}"), ".Arn")
	if !ok || !strings.HasPrefix(arn, "${") {
		return Authorizer{}, fmt.Errorf("samtemplate: %s: authorizer %q: FunctionArn must be !GetAtt <Function>.Arn, got %q", apiID, name, arn)
	}
	if _, ok := t.cfn.Resources[ref].(*serverless.Function); !ok {
		return Authorizer{}, fmt.Errorf("samtemplate: %s: authorizer %q: %q is not an AWS::Serverless::Function", apiID, name, ref)
	}
	out := Authorizer{Function: ref}
	if identity, ok := conf["Identity"].(map[string]any); ok {
		if headers, ok := identity["Headers"].([]any); ok && len(headers) > 0 {
			out.IdentityHeader, _ = headers[0].(string)
		}
		if secs, ok := identity["ReauthorizeEvery"].(float64); ok {
			out.TTL = time.Duration(secs * float64(time.Second))
		}
	}
	if out.IdentityHeader == "" && out.TTL != 0 {
		// API Gateway refuses it at deploy time: nothing to cache by.
		return Authorizer{}, fmt.Errorf("samtemplate: %s: authorizer %q has no identity source, so Identity.ReauthorizeEvery must be 0 (got %s)", apiID, name, out.TTL)
	}
	return out, nil
}

// TableInput builds a CreateTable request for the AWS::DynamoDB::Table
// logicalID from the template's own key schema, attribute definitions and
// secondary indexes, named tableName and billed on demand. The second result
// is the table's TTL attribute ("" when TTL is off).
func (t *Template) TableInput(logicalID, tableName string) (*dynamodb.CreateTableInput, string, error) {
	res, ok := t.cfn.Resources[logicalID]
	if !ok {
		return nil, "", fmt.Errorf("samtemplate: no resource %q", logicalID)
	}
	tbl, ok := res.(*cfnddb.Table)
	if !ok {
		return nil, "", fmt.Errorf("samtemplate: %s is a %s, not an AWS::DynamoDB::Table", logicalID, res.AWSCloudFormationType())
	}
	if len(tbl.KeySchema) == 0 {
		return nil, "", fmt.Errorf("samtemplate: %s has no KeySchema", logicalID)
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(tableName),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   keySchema(tbl.KeySchema),
	}
	for _, a := range tbl.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range tbl.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: projection(g.Projection),
		})
	}
	for _, l := range tbl.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{
			IndexName:  aws.String(l.IndexName),
			KeySchema:  keySchema(l.KeySchema),
			Projection: projection(l.Projection),
		})
	}
	ttl := ""
	if s := tbl.TimeToLiveSpecification; s != nil && s.Enabled && s.AttributeName != nil {
		ttl = *s.AttributeName
	}
	return in, ttl, nil
}

func keySchema(ks []cfnddb.Table_KeySchema) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       ddbtypes.KeyType(k.KeyType),
		})
	}
	return out
}

func projection(p *cfnddb.Table_Projection) *ddbtypes.Projection {
	out := &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll}
	if p == nil {
		return out
	}
	if p.ProjectionType != nil {
		out.ProjectionType = ddbtypes.ProjectionType(*p.ProjectionType)
	}
	out.NonKeyAttributes = append([]string(nil), p.NonKeyAttributes...)
	return out
}
