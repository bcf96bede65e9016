// Command admin-imports-report is the Lambda function behind
// GET /v1/admin/imports/{id}/report; a report too large to answer inline is
// stored under reports/ and linked to.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.ImportReport }) }
