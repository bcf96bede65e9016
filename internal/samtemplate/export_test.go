package samtemplate

import "github.com/awslabs/goformation/v7/cloudformation"

// Test-only access to the parsed template, so samtemplate_test can check
// structure the exported API deliberately does not model.

// CFN returns goformation's typed template.
func CFN(t *Template) *cloudformation.Template { return t.cfn }

// Raw returns the template as generic data after intrinsic resolution.
func Raw(t *Template) map[string]any { return t.raw }
