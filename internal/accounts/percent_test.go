package accounts_test

import (
	"testing"

	"github.com/libaccounts/libaccounts/internal/accounts"
)

func TestResetPercentNeverFallsBack(t *testing.T) {
	// 15 of 16 scans done, then a scan queues two batches: the computed
	// share falls from 93% to 88%, the reported one must not.
	before := accounts.Job{Kind: accounts.JobPasswordReset, Status: accounts.JobRunning, TasksTotal: 16, TasksDone: 15}
	after := accounts.Job{Kind: accounts.JobPasswordReset, Status: accounts.JobRunning, TasksTotal: 18, TasksDone: 16, PercentSeen: before.Percent()}
	if before.Percent() != 93 || after.Percent() < before.Percent() {
		t.Errorf("percent %d then %d, want 93 then no less", before.Percent(), after.Percent())
	}
	if done := (accounts.Job{Kind: accounts.JobPasswordReset, Status: accounts.JobCompleted, TasksTotal: 3, TasksDone: 3}); done.Percent() != 100 {
		t.Errorf("a completed job is at %d%%", done.Percent())
	}
}
