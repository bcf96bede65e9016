package apigw

// SetExportLimit lowers the CSV export's event limit, so that tests can
// reach it without writing 10,000 events.
func (a *API) SetExportLimit(n int) { a.exportLimit = n }

// SetReportInlineLimit lowers the size up to which an import report is
// answered inline, so that tests reach the stored-report path with a few
// rows.
func (a *API) SetReportInlineLimit(n int) { a.reportInline = n }
