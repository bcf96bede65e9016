// Command authorizer is the HTTP API's Lambda REQUEST authorizer.
package main

import (
	"github.com/libaccounts/libaccounts/internal/apigw"
	"github.com/libaccounts/libaccounts/internal/lambdamain"
)

func main() { lambdamain.API(func(a *apigw.API) any { return a.Authorize }) }
