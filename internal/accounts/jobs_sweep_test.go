package accounts_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

// jobNotices returns the job-finished notices queued for the job.
func (e *importEnv) jobNotices(tb testing.TB, jobID string) int {
	tb.Helper()
	n := 0
	for _, q := range e.notices.take() {
		nt, err := e.store.GetNotice(context.Background(), q.ref.TenantID, q.ref.UserID, q.ref.NoticeID)
		if err != nil {
			tb.Fatal(err)
		}
		if nt.Kind == accounts.NoticeJobFinished && nt.JobID == jobID {
			n++
		}
	}
	return n
}

// stored reads a job from the table: the sweep's tests move the clock past
// the admin's session.
func (e *importEnv) stored(tb testing.TB, id string) accounts.Job {
	tb.Helper()
	j, err := e.store.GetJob(context.Background(), "kpu", id)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

func (e *importEnv) sweep(tb testing.TB) accounts.SweepResult {
	tb.Helper()
	res, err := e.svc.SweepJobs(context.Background(), e.clock.Now())
	if err != nil {
		tb.Fatalf("sweep: %v", err)
	}
	return res
}

func TestSweepEndsStalledJobsOnly(t *testing.T) {
	// A set build whose chunks were all lost, and a users import that
	// still moves: the sweep ends the first (failed: it did nothing, and
	// its empty set goes so nothing is left building) once its progress
	// has stood still for the whole timeout, with the starter's notice,
	// and leaves the second alone.
	t.Parallel()
	e := newImportEnv(t, nil)
	ctx := context.Background()
	lost := e.upload(t, accounts.StartImportInput{Kind: accounts.JobSet, SetName: "Spring letters"}, "Primary ID\n0123456\n")
	e.ingest(t)
	e.q.take() // the chunk never arrives
	moving := e.upload(t, accounts.StartImportInput{Kind: accounts.JobUsers, Mode: accounts.ModeCreate},
		"username,password\nann,correct-horse-battery-1\nbob,correct-horse-battery-2\ncat,correct-horse-battery-3\ndan,correct-horse-battery-4\n")
	e.ingest(t)
	chunks := e.q.take()
	if len(chunks) != 2 {
		t.Fatalf("%d chunks, want 2", len(chunks))
	}
	e.notices.take()

	// The first sweep only notes what it sees: nothing records the time
	// of an import's last chunk, so a job is judged on what it saw move.
	if res := e.sweep(t); res.Seen != 2 || res.Ended != 0 {
		t.Fatalf("first sweep: %+v, want 2 seen, none ended", res)
	}
	e.clock.Advance(20 * time.Minute)
	if err := e.svc.ImportChunk(ctx, chunks[0]); err != nil {
		t.Fatal(err)
	}
	if res := e.sweep(t); res.Ended != 0 {
		t.Fatalf("sweep before the timeout: %+v, want none ended", res)
	}
	e.clock.Advance(accounts.DefaultJobStallTimeout - 5*time.Minute)
	if res := e.sweep(t); res.Seen != 2 || res.Ended != 1 {
		t.Fatalf("sweep after the timeout: %+v, want 2 seen, 1 ended", res)
	}
	got := e.stored(t, lost.ID)
	if got.Status != accounts.JobFailed || got.FinishedAt.IsZero() || got.Error == "" {
		t.Errorf("stalled set build: %s, finished %v, error %q; want failed with a finish time and the reason", got.Status, got.FinishedAt, got.Error)
	}
	if _, err := e.store.GetSet(ctx, "kpu", got.SetID); !accounts.IsCode(err, accounts.CodeNotFound) {
		t.Errorf("the stalled build's empty set: %v, want it gone", err)
	}
	if n := e.jobNotices(t, lost.ID); n != 1 {
		t.Errorf("%d job notices for the stalled job, want 1", n)
	}
	if j := e.stored(t, moving.ID); j.Status.Final() {
		t.Errorf("the moving import was ended: %s", j.Status)
	}
	// The moving one stalls in turn; it did work, so it ends with errors.
	e.clock.Advance(accounts.DefaultJobStallTimeout)
	if res := e.sweep(t); res.Seen != 1 || res.Ended != 1 {
		t.Fatalf("last sweep: %+v, want the one left ended", res)
	}
	if j := e.stored(t, moving.ID); j.Status != accounts.JobCompletedWithErrors || j.FinishedAt.IsZero() {
		t.Errorf("stalled import that did work: %s, want completed_with_errors with a finish time", j.Status)
	}
	// Finished jobs leave the sweep's index.
	if res := e.sweep(t); res.Seen != 0 {
		t.Errorf("after the end: %+v, want nothing left to see", res)
	}
}

func TestDeadChunksEndTheImport(t *testing.T) {
	// A chunk parked in the dead-letter queue is recorded once, its rows
	// failed with the reason, and as nothing else is pending the job ends
	// with errors and its notice.
	t.Parallel()
	e := newImportEnv(t, nil)
	ctx := context.Background()
	j := e.upload(t, accounts.StartImportInput{Kind: accounts.JobUsers, Mode: accounts.ModeCreate},
		"username,password\nann,correct-horse-battery-1\nbob,correct-horse-battery-2\ncat,correct-horse-battery-3\ndan,correct-horse-battery-4\neve,correct-horse-battery-5\n")
	e.ingest(t)
	chunks := e.q.take()
	if len(chunks) != 2 {
		t.Fatalf("%d chunks, want 2", len(chunks))
	}
	if err := e.svc.ImportChunk(ctx, chunks[0]); err != nil {
		t.Fatal(err)
	}
	e.notices.take()
	body, _ := json.Marshal(chunks[1])
	for range 2 { // SQS may deliver the dead letter twice
		if err := e.svc.RecordDeadLetter(ctx, string(body)); err != nil {
			t.Fatal(err)
		}
	}
	got := e.job(t, j.ID)
	if got.Status != accounts.JobCompletedWithErrors || got.FinishedAt.IsZero() || counts(got) != [5]int{5, 3, 0, 0, 2} {
		t.Fatalf("job: %s %v finished %v, want completed_with_errors [5 3 0 0 2] with a finish time", got.Status, counts(got), got.FinishedAt)
	}
	rows := e.report(t, j.ID)
	gaveUp := 0
	for _, r := range rows[1:] {
		if r[2] == accounts.OutcomeFailed && r[3] == accounts.ReasonGaveUp {
			gaveUp++
		}
	}
	if gaveUp != 2 {
		t.Errorf("report: %d rows given up on, want 2: %v", gaveUp, rows)
	}
	if n := e.jobNotices(t, j.ID); n != 1 {
		t.Errorf("%d job notices, want 1", n)
	}
	for _, bad := range []string{"", "{", `{"tenant":"kpu"}`, `{"tenant":"kpu","job":"x","kind":"nonsense"}`} {
		if err := e.svc.RecordDeadLetter(ctx, bad); !accounts.IsCode(err, accounts.CodeInvalid) {
			t.Errorf("RecordDeadLetter(%q) = %v, want invalid", bad, err)
		}
	}
}
