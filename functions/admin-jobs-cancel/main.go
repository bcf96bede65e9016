// Command admin-jobs-cancel is the Lambda function behind POST /v1/admin/jobs/{id}/cancel.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.CancelJob }) }
