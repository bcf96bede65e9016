package apigw

// SetExportLimit lowers the CSV export's event limit, so that tests can
// reach it without writing 10,000 events.
func (a *API) SetExportLimit(n int) { a.exportLimit = n }
