// Command admin-imports-cancel is the Lambda function behind
// POST /v1/admin/imports/{id}/cancel; cancelling a job that is still
// waiting for its file deletes the file, if it arrived.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.CancelImport }) }
