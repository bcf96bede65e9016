// Command admin-imports-create is the Lambda function behind
// POST /v1/admin/imports; it pre-signs the upload of the job's file.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.StartImport }) }
