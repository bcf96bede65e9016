// Command web is the Lambda function behind GET /, /console/… and
// /portal/…: the staff console and the patron portal.
package main

import "github.com/libaccounts/libaccounts/internal/lambdamain"

func main() { lambdamain.Web() }
