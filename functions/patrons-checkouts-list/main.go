// Command patrons-checkouts-list is the Lambda function behind GET /v1/patrons/{id}/checkouts.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.PatronCheckouts }) }
