package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/apiwire"
)

// finalStatus reports whether a job has ended; the others (pending,
// validating, running) move on.
func finalStatus(s string) bool {
	switch s {
	case apiwire.ImportCompleted, apiwire.ImportCompletedWithErrors, apiwire.ImportFailed, apiwire.ImportCancelled:
		return true
	}
	return false
}

// exitFor is the exit of a command that watched a job to its end.
func exitFor(status string) error {
	if status == apiwire.ImportCompleted {
		return nil
	}
	return &exitError{code: 1} // the summary has said why
}

// watch polls a job of any kind until it ends, drawing its progress on
// stderr, and prints the result on stdout. Ctrl-C (ctx) stops watching, not
// the job. noun names the job in messages ("import", "reset", "job").
func (a *app) watch(ctx context.Context, c *client, noun, id string) error {
	p := newProgress(a.stderr, a.stderrTTY)
	delay, failures := a.pollMin, 0
	for {
		var v apiwire.Job
		err := c.do(ctx, http.MethodGet, jobPath(id, ""), nil, &v)
		switch {
		case ctx.Err() != nil:
			return a.stoppedWatching(p, noun, id)
		case err != nil && transient(err) && failures < a.watchRetries:
			failures++
			if failures == 1 {
				p.note(fmt.Sprintf("%s %s: %s; retrying", noun, id, oneLine(err.Error())))
			}
		case err != nil:
			p.finish()
			if transient(err) {
				return fail("%s; the %s goes on: follow it later with `libaccounts jobs watch %s`", err, noun, id)
			}
			return err
		default:
			if failures > 0 {
				p.note(fmt.Sprintf("%s %s: the API answers again", noun, id))
				failures = 0
			}
			if v.ID == "" {
				v.ID = id
			}
			p.update(v)
			if finalStatus(v.Status) {
				p.finish()
				a.printSummary(v)
				return exitFor(v.Status)
			}
		}
		select {
		case <-ctx.Done():
			return a.stoppedWatching(p, noun, id)
		case <-time.After(delay):
		}
		delay = min(delay*3/2, a.pollMax)
	}
}

func (a *app) stoppedWatching(p *progress, noun, id string) error {
	p.finish()
	fmt.Fprintf(a.stderr, "stopped watching; %s %s goes on. Resume with: libaccounts jobs watch %s\n", noun, id, id)
	return &exitError{code: 130}
}

// printSummary is the end of an import: status, counts, the error of a
// refused file, and where the per-row report is.
func (a *app) printSummary(v apiwire.Job) {
	if v.Kind == apiwire.JobKindPasswordReset {
		a.printResetSummary(v)
		return
	}
	w := a.stdout
	dry := ""
	if v.DryRun {
		dry = " (dry run: nothing was changed)"
	}
	fmt.Fprintf(w, "import %s: %s%s\n", v.ID, v.Status, dry)
	switch v.Status {
	case apiwire.ImportFailed:
		fmt.Fprintln(w, "  the file was refused; nothing was imported")
	case apiwire.ImportCancelled:
		fmt.Fprintln(w, "  rows imported before the cancel stay")
		if v.FinishedAt == nil && v.Counts.Rows > 0 {
			fmt.Fprintln(w, "  rows in flight are being finished; the report lists them when they are done")
		}
	}
	if v.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", oneLine(v.Error))
	}
	if v.Counts.Rows > 0 || processed(v) > 0 {
		fmt.Fprintf(w, "  %s: %s\n", plural(v.Counts.Rows, "row", "rows"), countsText(v, true))
	}
	if v.Kind == apiwire.ImportKindSet && v.SetName != "" {
		set := strconv.Quote(v.SetName)
		if v.SetID != "" {
			set += " (id " + v.SetID + ")"
		}
		fmt.Fprintf(w, "  set: %s\n", set)
	}
	if hasReport(v) {
		fmt.Fprintf(w, "next: libaccounts jobs report %s -o report.csv   (the outcome of every row)\n", v.ID)
	}
}

// hasReport reports whether an import's report says more than its summary:
// a refused file's report holds only the error printed already, and an
// import stopped before its first row has no rows to report.
func hasReport(v apiwire.Job) bool {
	if v.Kind == apiwire.JobKindPasswordReset {
		return v.Counts.Matched > 0
	}
	return v.Status != apiwire.ImportFailed && (v.Counts.Rows > 0 || processed(v) > 0)
}

// progress shows an import's progress: on a terminal one line redrawn in
// place, otherwise a line per status change or 10% step.
type progress struct {
	w        io.Writer
	tty      bool
	drawn    int // length of the line on screen (tty)
	status   string
	step     int
	reported bool
}

func newProgress(w io.Writer, tty bool) *progress { return &progress{w: w, tty: tty} }

func (p *progress) update(v apiwire.Job) {
	if p.tty {
		p.draw(renderProgress(v, true))
		return
	}
	step := clampPercent(v.Percent) / 10
	if p.reported && v.Status == p.status && step == p.step {
		return
	}
	p.reported, p.status, p.step = true, v.Status, step
	fmt.Fprintln(p.w, renderProgress(v, false))
}

// draw replaces the terminal line with s.
func (p *progress) draw(s string) {
	pad := ""
	if n := len(s); n < p.drawn {
		pad = strings.Repeat(" ", p.drawn-n)
	}
	fmt.Fprint(p.w, "\r"+s+pad)
	p.drawn = len(s)
}

// finish ends a line drawn in place.
func (p *progress) finish() {
	if p.tty && p.drawn > 0 {
		fmt.Fprintln(p.w)
		p.drawn = 0
	}
}

// note prints a line of its own, off the progress line.
func (p *progress) note(s string) {
	p.finish()
	fmt.Fprintln(p.w, s)
}

const barWidth = 20

// renderProgress is the one line that shows an import, e.g.
//
//	[#########-----------] 45%  running  1,234/2,750 rows  created 1,200 failed 34
//
// without the bar when bar is false.
func renderProgress(v apiwire.Job, bar bool) string {
	pct := clampPercent(v.Percent)
	var b strings.Builder
	if bar {
		n := pct * barWidth / 100
		b.WriteString("[" + strings.Repeat("#", n) + strings.Repeat("-", barWidth-n) + "] ")
	}
	fmt.Fprintf(&b, "%d%%  %s", pct, v.Status)
	switch {
	case v.Kind == apiwire.JobKindPasswordReset:
		if v.Counts.Matched > 0 {
			fmt.Fprintf(&b, "  %s read  %s", plural(v.Counts.Matched, "user", "users"), countsText(v, false))
		}
	case v.Counts.Rows > 0:
		fmt.Fprintf(&b, "  %s/%s  %s", num(min(processed(v), v.Counts.Rows)), plural(v.Counts.Rows, "row", "rows"), countsText(v, false))
	case v.Status == "pending":
		b.WriteString("  waiting for the file")
	case v.Status == "validating":
		b.WriteString("  reading the file")
	}
	if v.DryRun {
		b.WriteString("  (dry run)")
	}
	return b.String()
}

// renderUpload is the progress line of an upload.
func renderUpload(sent, size int64) string {
	pct := 100
	if size > 0 {
		pct = int(sent * 100 / size)
	}
	n := pct * barWidth / 100
	return fmt.Sprintf("[%s%s] %d%%  uploading  %s of %s", strings.Repeat("#", n), strings.Repeat("-", barWidth-n), pct, humanBytes(sent), humanBytes(size))
}

func clampPercent(p int) int { return max(0, min(p, 100)) }

// processed is how many rows have an outcome.
func processed(v apiwire.Job) int {
	c := v.Counts
	switch v.Kind {
	case apiwire.ImportKindSet:
		return c.Added + c.Duplicates + c.NotFound
	case apiwire.JobKindPasswordReset:
		return c.Changed + c.Skipped + c.NoEmail + c.Failed
	}
	return c.Created + c.Updated + c.Skipped + c.Failed
}

// countsText lists the counts of v's kind: the ones that are zero only when
// all is true, but always what was done and what failed.
func countsText(v apiwire.Job, all bool) string {
	type count struct {
		one, many string // "1 duplicate", "2 duplicates"; a label is many
		n         int
		always    bool
	}
	c := v.Counts
	list := []count{{"created", "created", c.Created, true}, {"updated", "updated", c.Updated, false}, {"skipped", "skipped", c.Skipped, false}, {"failed", "failed", c.Failed, true}}
	switch v.Kind {
	case apiwire.JobKindPasswordReset:
		list = []count{{"changed", "changed", c.Changed, true}, {"skipped", "skipped", c.Skipped, false}, {"without e-mail", "without e-mail", c.NoEmail, true}, {"failed", "failed", c.Failed, true}}
	case apiwire.ImportKindSet:
		list = []count{{"added", "added", c.Added, true}, {"duplicate", "duplicates", c.Duplicates, false}, {"not found", "not found", c.NotFound, true}}
	}
	var parts []string
	for _, x := range list {
		if x.always || all || x.n > 0 {
			if all {
				parts = append(parts, plural(x.n, x.one, x.many))
			} else {
				parts = append(parts, x.many+" "+num(x.n))
			}
		}
	}
	if all {
		return strings.Join(parts, ", ")
	}
	return strings.Join(parts, " ")
}
