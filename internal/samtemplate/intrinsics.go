package samtemplate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// How intrinsic functions are resolved when loading the template.
//
// goformation's default handlers resolve a Ref only to a parameter's Default
// and turn every other Ref, every Fn::GetAtt and every unknown ${...} inside
// Fn::Sub into nothing, so `TABLE_NAME: !Ref AccountsTable` would silently
// become "". Instead, references that only exist once deployed are kept as
// placeholders written the way Fn::Sub writes them:
//
//	!Ref AccountsTable              -> "${AccountsTable}"
//	!GetAtt AccountsTable.Arn       -> "${AccountsTable.Arn}"
//	!Sub "${AccountsTable.Arn}/x"   -> "${AccountsTable.Arn}/x"
//
// Parameter references become the parameter's Default (as a string), pseudo
// parameters get fixed local values, and AWS::NoValue removes the value.
// Functions() later substitutes the placeholders from its refs map and fails
// on any it cannot fill.

// placeholderRE matches one placeholder; group 1 is the reference
// ("AccountsTable" or "AccountsTable.Arn"). It is also the Fn::Sub variable
// syntax.
var placeholderRE = regexp.MustCompile(`\$\{([!A-Za-z0-9:._-]+)\}`)

// pseudoParameters are the AWS:: pseudo parameters with their local stand-ins.
var pseudoParameters = map[string]string{
	"AWS::AccountId": "123456789012",
	"AWS::Partition": "aws",
	"AWS::Region":    "us-east-1",
	"AWS::StackId":   "arn:aws:cloudformation:us-east-1:123456789012:stack/libaccounts-local/00000000-0000-0000-0000-000000000000",
	"AWS::StackName": "libaccounts-local",
	"AWS::URLSuffix": "amazonaws.com",
}

func processorOptions(params map[string]string) *intrinsics.ProcessorOptions {
	overrides := map[string]any{}
	for k, v := range params {
		overrides[k] = v
	}
	return &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        refHandler,
			"Fn::GetAtt": getAttHandler,
			"Fn::Sub":    subHandler,
		},
		ParameterOverrides: overrides,
		// Needed for Fn::If (HasCors, ProtectTable) to pick a branch.
		EvaluateConditions: true,
	}
}

// parameterDefault returns the Default of the template parameter name.
func parameterDefault(template any, name string) (string, bool) {
	tm, _ := template.(map[string]any)
	params, _ := tm["Parameters"].(map[string]any)
	p, ok := params[name].(map[string]any)
	if !ok {
		return "", false
	}
	def, ok := p["Default"]
	if !ok || def == nil {
		return "", false
	}
	switch d := def.(type) {
	case string:
		return d, true
	case float64:
		return strconv.FormatFloat(d, 'f', -1, 64), true
	default:
		return fmt.Sprint(d), true
	}
}

// resolveRef resolves a Ref target to a concrete value, or to nil for
// AWS::NoValue, or to a placeholder.
func resolveRef(name string, template any) any {
	if name == "AWS::NoValue" {
		return nil
	}
	if v, ok := pseudoParameters[name]; ok {
		return v
	}
	if v, ok := parameterDefault(template, name); ok {
		return v
	}
	return "${" + name + "}"
}

func refHandler(_ string, input any, template any) any {
	name, ok := input.(string)
	if !ok {
		return nil
	}
	return resolveRef(name, template)
}

func getAttHandler(_ string, input any, _ any) any {
	switch v := input.(type) {
	case string: // short form: !GetAtt Res.Attr
		return "${" + v + "}"
	case []any: // long form: Fn::GetAtt: [Res, Attr]
		parts := make([]string, 0, len(v))
		for _, p := range v {
			s, ok := p.(string)
			if !ok {
				return nil
			}
			parts = append(parts, s)
		}
		return "${" + strings.Join(parts, ".") + "}"
	}
	return nil
}

func subHandler(_ string, input any, template any) any {
	var src string
	vars := map[string]any{}
	switch v := input.(type) {
	case string:
		src = v
	case []any:
		if len(v) != 2 {
			return nil
		}
		s, ok := v[0].(string)
		if !ok {
			return nil
		}
		src = s
		if m, ok := v[1].(map[string]any); ok {
			vars = m
		}
	default:
		return nil
	}
	return placeholderRE.ReplaceAllStringFunc(src, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if strings.HasPrefix(name, "!") { // ${!Literal} is an escaped literal
			return m
		}
		if v, ok := vars[name]; ok {
			if s, ok := v.(string); ok {
				return s
			}
			return m
		}
		if strings.Contains(name, ".") { // ${Res.Attr} is a GetAtt
			return m
		}
		if s, ok := resolveRef(name, template).(string); ok {
			return s
		}
		return ""
	})
}

// substitute replaces every placeholder in s with its value from refs.
// Unknown references are returned, in order, as the second value.
func substitute(s string, refs map[string]string) (string, []string) {
	var missing []string
	out := placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if v, ok := refs[name]; ok {
			return v
		}
		missing = append(missing, name)
		return m
	})
	return out, missing
}
