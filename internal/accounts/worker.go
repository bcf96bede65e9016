package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/libaccounts/libaccounts/internal/importcsv"
)

// ImportChunk imports one chunk of a job's file. Deliveries are at least
// once: a chunk already recorded changes nothing, and rows written by an
// earlier, interrupted delivery are recognised by their import marks and
// counted as they were then. An error asks for a retry.
func (s *Service) ImportChunk(ctx context.Context, task ChunkTask) error {
	j, err := s.store.GetJob(ctx, task.TenantID, task.JobID)
	if IsCode(err, CodeNotFound) {
		s.log.WarnContext(ctx, "chunk for unknown job dropped", "tenant", task.TenantID, "job", task.JobID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("chunk %d of %s: %w", task.Index, task.JobID, err)
	}
	if !j.FinishedAt.IsZero() {
		return nil // a late duplicate
	}
	result := ChunkResult{Index: task.Index}
	if j.Status != JobCancelled {
		result, err = s.importRows(ctx, j, task)
		if errors.Is(err, ErrObjectChanged) {
			// Rows of another file were never checked: none of them is
			// imported, and the job ends here, saying why. Chunks done
			// before stay done and reported.
			reason := fmt.Sprintf("the file was replaced or deleted after it was checked, so rows from row %d on were not imported; upload the file again as a new import", task.FirstRow)
			s.log.WarnContext(ctx, "import file changed under the job", "tenant", j.TenantID, "job", j.ID, "chunk", task.Index)
			if _, err := s.finishJob(ctx, j, JobFailed, reason); err != nil {
				return fmt.Errorf("fail %s: %w", j.ID, err)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	after, first, err := s.store.CompleteChunk(ctx, j.TenantID, j.ID, result)
	if err != nil {
		return fmt.Errorf("record chunk %d of %s: %w", task.Index, j.ID, err)
	}
	if !first {
		s.log.InfoContext(ctx, "duplicate chunk ignored", "tenant", j.TenantID, "job", j.ID, "chunk", task.Index)
	}
	// The last chunk ends the job; checking on duplicates too means a
	// worker that died right after recording the last chunk is made good.
	// A cancelled job drains its chunks the same way and ends with the last.
	if after.ChunksDone >= after.ChunksTotal && after.ChunksTotal > 0 && after.FinishedAt.IsZero() {
		status := JobCompleted
		switch {
		case after.Status == JobCancelled:
			status = JobCancelled
		case after.Failed > 0:
			status = JobCompletedWithErrors
		}
		if _, err := s.finishJob(ctx, after, status, ""); err != nil {
			return fmt.Errorf("finish %s: %w", j.ID, err)
		}
	}
	return nil
}

func (s *Service) importRows(ctx context.Context, j Job, task ChunkTask) (ChunkResult, error) {
	body, err := s.blobs.Open(ctx, j.Bucket, j.Key, j.blobVersion(), task.Start, task.End)
	if err != nil {
		return ChunkResult{}, fmt.Errorf("read chunk %d of %s: %w", task.Index, j.ID, err)
	}
	rows, err := importcsv.ReadChunk(body, importcsv.Header{Format: importcsv.Format(j.Format), Columns: j.Columns},
		importcsv.Chunk{Start: task.Start, End: task.End, FirstRow: task.FirstRow, Rows: task.Rows})
	body.Close()
	if err != nil {
		return ChunkResult{}, fmt.Errorf("parse chunk %d of %s: %w", task.Index, j.ID, err)
	}
	t, err := s.store.GetTenant(ctx, j.TenantID)
	if err != nil {
		return ChunkResult{}, fmt.Errorf("chunk %d of %s: %w", task.Index, j.ID, err)
	}
	// Hashing dominates: as many rows at once as the function has vCPUs.
	// The first store failure retries the whole chunk, so it also stops
	// the rows not yet started: hashing them would be work thrown away.
	// The same holds when the invocation's context ends.
	outcomes := make([]RowOutcome, len(rows))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.ImportWorkers)
	for i, row := range rows {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			// Go may have waited for a free slot while another row failed.
			if err := gctx.Err(); err != nil {
				return err
			}
			if first, dup := j.DuplicateRows[row.Number]; dup {
				outcomes[i] = duplicateOutcome(j, row, first)
				return nil
			}
			var err error
			if j.Kind == JobSet {
				outcomes[i], err = s.importSetRow(gctx, j, row)
			} else {
				outcomes[i], err = s.importUserRow(gctx, t, j, row)
			}
			if err != nil {
				// A store failure is not the row's fault: retry the chunk.
				return fmt.Errorf("row %d of %s: %w", row.Number, j.ID, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return ChunkResult{}, err
	}
	// The loop stops early only when gctx ended, and then only because ctx
	// did (a row's error would have come out of Wait).
	if err := ctx.Err(); err != nil {
		return ChunkResult{}, fmt.Errorf("chunk %d of %s: %w", task.Index, j.ID, err)
	}
	res := ChunkResult{Index: task.Index, Outcomes: outcomes}
	for _, o := range outcomes {
		switch o.Outcome {
		case OutcomeCreated, OutcomeAdded, OutcomeWouldCreate, OutcomeWouldAdd:
			res.Created++
		case OutcomeUpdated, OutcomeWouldUpdate:
			res.Updated++
		case OutcomeSkipped, OutcomeDuplicate:
			res.Skipped++
		default:
			res.Failed++
		}
	}
	return res, nil
}

func duplicateOutcome(j Job, row importcsv.Row, first int) RowOutcome {
	if j.Kind == JobSet {
		return RowOutcome{Row: row.Number, Subject: row.ID, Outcome: OutcomeDuplicate, Reason: fmt.Sprintf("same ID as row %d", first)}
	}
	return RowOutcome{Row: row.Number, Subject: row.Username, Outcome: OutcomeSkipped, Reason: fmt.Sprintf("same username as row %d; only the first is imported", first)}
}

// rowFailed turns a validation error into the row's reason; messages of
// coded errors never hold a password.
func rowFailed(row int, subject string, err error) RowOutcome {
	msg := PublicMessage(err)
	if f := PublicField(err); f != "" && f != "password" {
		msg = f + ": " + msg
	}
	return RowOutcome{Row: row, Subject: subject, Outcome: OutcomeFailed, Reason: msg}
}

// importUserRow creates or updates one user. It returns an error only for
// failures of the store, which make the chunk retry.
func (s *Service) importUserRow(ctx context.Context, t Tenant, j Job, row importcsv.Row) (RowOutcome, error) {
	subject := row.Username
	if row.Err != "" {
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeFailed, Reason: row.Err}, nil
	}
	in := CreateUserInput{Username: row.Username, Email: row.Email, Barcode: row.Barcode, PrimaryID: row.PrimaryID, Roles: row.Roles, Queues: row.Queues, CannedMessagePools: row.CannedMessagePools}
	u, err := s.newUser(t, in)
	if err != nil {
		return rowFailed(row.Number, subject, err), nil
	}
	subject = u.Username
	if err := t.Settings.UsernameFormat.Check("username", u.Username); err != nil {
		return rowFailed(row.Number, subject, err), nil
	}
	switch row.Status {
	case "", string(StatusActive):
	case string(StatusInactive):
		u.Status = StatusInactive
	default:
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeFailed, Reason: "status must be active or inactive"}, nil
	}
	pw, err := s.rowPassword(t, u, row)
	if err != nil {
		return rowFailed(row.Number, subject, err), nil
	}

	// Most rows of an import are new: the guard alone says so.
	existingID, err := s.store.UserIDByUsername(ctx, t.ID, UsernameKey(u.Username))
	switch {
	case err == nil:
		existing, err := s.store.GetUser(ctx, t.ID, existingID)
		if err != nil {
			return RowOutcome{}, err
		}
		return s.importExisting(ctx, t, j, row, existing, pw)
	case !IsCode(err, CodeNotFound):
		return RowOutcome{}, err
	}
	if pw.plain == "" && pw.hash == "" {
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeFailed, Reason: "a new account needs a password or passwordHash"}, nil
	}
	if !j.AllowStaffRoles && grantsStaffRole(User{}, u) {
		return staffRoleRefused(row.Number, subject), nil
	}
	if j.DryRun {
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeWouldCreate}, nil
	}
	u.ImportJob, u.ImportRow = j.ID, row.Number
	u.MustChangePassword = pw.plain != "" && t.Settings.ImportedPasswordsMustChange
	if err := s.insertImported(ctx, j, &u, pw); err != nil {
		if IsCode(err, CodeConflict) && PublicField(err) == "username" {
			// Someone — or an earlier delivery of this row — took the
			// name meanwhile.
			if again, gerr := s.store.GetUserByUsername(ctx, t.ID, UsernameKey(u.Username)); gerr == nil {
				return s.importExisting(ctx, t, j, row, again, pw)
			}
		}
		if code := ErrorCode(err); code == CodeConflict || code == CodeInvalid {
			return rowFailed(row.Number, subject, err), nil
		}
		return RowOutcome{}, err
	}
	return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeCreated}, nil
}

// rowPassword is a row's password: a plaintext one checked against the
// policy, or a hash migrated from another system.
type rowPassword struct{ plain, hash string }

func (s *Service) rowPassword(t Tenant, u User, row importcsv.Row) (rowPassword, error) {
	switch {
	case row.Password != "" && row.PasswordHash != "":
		return rowPassword{}, FieldError("password", "give password or passwordHash, not both")
	case row.PasswordHash != "":
		if err := s.hasher.CheckEncoded(row.PasswordHash); err != nil {
			if IsCode(err, CodeInvalid) {
				// A readable hash below the floor: the hasher says which.
				return rowPassword{}, FieldError("passwordHash", "%s", PublicMessage(err))
			}
			return rowPassword{}, FieldError("passwordHash", "passwordHash must be an argon2id PHC string or a bcrypt $2a$/$2b$ hash")
		}
		return rowPassword{hash: row.PasswordHash}, nil
	case row.Password != "":
		n, err := t.Settings.PasswordPolicy.Check(row.Password, AudienceStaff, contextWords(t, u.Username, u.Email, u.Barcode)...)
		if err != nil {
			return rowPassword{}, err
		}
		return rowPassword{plain: n}, nil
	}
	return rowPassword{}, nil
}

func (s *Service) insertImported(ctx context.Context, j Job, u *User, pw rowPassword) error {
	id, err := newUserID(s.rand)
	if err != nil {
		return Internal(err)
	}
	hash := pw.hash
	if pw.plain != "" {
		if hash, err = s.hasher.Hash(pw.plain); err != nil {
			return Internal(fmt.Errorf("hash: %w", err))
		}
	}
	now := s.now()
	u.ID, u.PasswordHash, u.CreatedAt, u.UpdatedAt, u.PasswordChangedAt, u.Version = id, hash, now, now, now, 1
	return s.store.CreateUser(ctx, *u, s.importAudit(ctx, j, ActionUserCreate, *u, importFields(*u)...))
}

// importAudit is the audit event of a row's write, as the staff API writes
// it for the same change: the actor is who started the job (the operator
// for a drop that names no one), and the detail says which row of which
// import. It is stored with the user, in one transaction.
func (s *Service) importAudit(ctx context.Context, j Job, action string, target User, fields ...string) *AuditEvent {
	p := Principal{TenantID: j.TenantID, UserID: j.StartedBy, Username: j.StartedByUsername}
	if p.UserID == "" {
		p.UserID, p.Username = OperatorActor, OperatorActor
	}
	ev := s.audit(ctx, p, action, target, fields...)
	ev.Detail = fmt.Sprintf("import %s, row %d", j.ID, target.ImportRow)
	return ev
}

// importFields names the fields a created user was given.
func importFields(u User) []string {
	f := []string{"username", "password"}
	for name, set := range map[string]bool{"email": u.Email != "", "barcode": u.Barcode != "", "primaryId": u.PrimaryID != "", "roles": len(u.Roles) > 0,
		"queues": len(u.Queues) > 0, "cannedMessagePools": len(u.CannedMessagePools) > 0, "status": u.Status != StatusActive} {
		if set {
			f = append(f, name)
		}
	}
	slices.Sort(f[2:])
	return f
}

// grantsStaffRole reports whether next holds a role that opens the staff
// API which prev did not.
func grantsStaffRole(prev, next User) bool { return next.IsAdmin() && !prev.IsAdmin() }

func staffRoleRefused(row int, subject string) RowOutcome {
	return RowOutcome{Row: row, Subject: subject, Outcome: OutcomeFailed,
		Reason: "roles: the row grants the admin role, which opens the staff API; start the import with allowStaffRoles to allow it"}
}

// importExisting handles a row whose username exists: the row's own
// earlier delivery, an existing account to skip (create), or one to update
// (upsert).
func (s *Service) importExisting(ctx context.Context, t Tenant, j Job, row importcsv.Row, existing User, pw rowPassword) (RowOutcome, error) {
	subject := existing.Username
	if existing.ImportJob == j.ID && existing.ImportRow == row.Number {
		if existing.Version == 1 {
			return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeCreated}, nil
		}
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeUpdated}, nil
	}
	if j.Mode == ModeCreate {
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeSkipped, Reason: "already exists"}, nil
	}
	if j.StartedBy != "" && existing.ID == j.StartedBy {
		// As in the staff API, nobody changes their own account this way.
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeFailed,
			Reason: "this is the account of the staff member who started the import; imports do not change it (ask another admin)"}, nil
	}
	patch := UserPatch{}
	str := func(col string, v string) *string {
		// An empty cell leaves the field as it is: spreadsheets are full of
		// blanks that mean "no change", not "erase".
		if !row.Has[col] || v == "" {
			return nil
		}
		return &v
	}
	list := func(col string, v []string) *[]string {
		if !row.Has[col] || len(v) == 0 {
			return nil
		}
		return &v
	}
	patch.Email, patch.Barcode, patch.PrimaryID = str("email", row.Email), str("barcode", row.Barcode), str("primaryId", row.PrimaryID)
	patch.Roles, patch.Queues, patch.CannedMessagePools = list("roles", row.Roles), list("queues", row.Queues), list("cannedMessagePools", row.CannedMessagePools)
	next, fields, err := applyPatch(t, existing, patch)
	if err != nil {
		return rowFailed(row.Number, subject, err), nil
	}
	if row.Status != "" && Status(row.Status) != existing.Status {
		next.Status = Status(row.Status)
		fields = append(fields, "status")
	}
	if pw.plain != "" || pw.hash != "" {
		fields = append(fields, "password")
	}
	if !j.AllowStaffRoles && grantsStaffRole(existing, next) {
		return staffRoleRefused(row.Number, subject), nil
	}
	if len(fields) == 0 {
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeSkipped, Reason: "no changes"}, nil
	}
	if j.DryRun {
		return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeWouldUpdate}, nil
	}
	if pw.plain != "" {
		if next.PasswordHash, err = s.hasher.Hash(pw.plain); err != nil {
			return RowOutcome{}, Internal(fmt.Errorf("hash: %w", err))
		}
		next.MustChangePassword = t.Settings.ImportedPasswordsMustChange
	} else if pw.hash != "" {
		next.PasswordHash, next.MustChangePassword = pw.hash, false
	}
	now := s.now()
	if next.PasswordHash != existing.PasswordHash {
		next.PasswordChangedAt = now
	}
	next.Version, next.UpdatedAt, next.ImportJob, next.ImportRow = existing.Version+1, now, j.ID, row.Number
	action := ActionUserUpdate
	switch {
	case next.Status != existing.Status && next.Status == StatusInactive:
		action = ActionUserDeactivate
	case next.Status != existing.Status:
		action = ActionUserReactivate
	}
	if err := s.store.UpdateUser(ctx, existing, next, s.importAudit(ctx, j, action, next, fields...)); err != nil {
		if code := ErrorCode(err); code == CodeConflict || code == CodeInvalid {
			return rowFailed(row.Number, subject, err), nil
		}
		return RowOutcome{}, err
	}
	if next.PasswordHash != existing.PasswordHash || next.Status == StatusInactive && existing.Status != StatusInactive {
		// As the staff API does: a new password or a deactivation ends
		// every session.
		s.endSessions(ctx, existing)
	}
	return RowOutcome{Row: row.Number, Subject: subject, Outcome: OutcomeUpdated, Reason: joinFields(fields)}, nil
}

func joinFields(f []string) string {
	out := ""
	for i, x := range f {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return "changed " + out
}

// importSetRow adds the user a row names to the job's set: by primary ID
// first (Alma's "User name" column holds primary IDs), then by username.
func (s *Service) importSetRow(ctx context.Context, j Job, row importcsv.Row) (RowOutcome, error) {
	if row.Err != "" {
		return RowOutcome{Row: row.Number, Subject: row.ID, Outcome: OutcomeFailed, Reason: row.Err}, nil
	}
	u, err := s.store.GetUserByPrimaryID(ctx, j.TenantID, IdentifierKey(row.ID))
	if IsCode(err, CodeNotFound) {
		u, err = s.store.GetUserByUsername(ctx, j.TenantID, UsernameKey(row.ID))
	}
	if IsCode(err, CodeNotFound) {
		return RowOutcome{Row: row.Number, Subject: row.ID, Outcome: OutcomeNotFound, Reason: "no user with this primary ID or username"}, nil
	}
	if err != nil {
		return RowOutcome{}, err
	}
	if j.DryRun {
		return RowOutcome{Row: row.Number, Subject: row.ID, Outcome: OutcomeWouldAdd}, nil
	}
	added, err := s.store.AddSetMember(ctx, j.TenantID, j.SetID, j.ID, SetMember{UserID: u.ID, Username: u.Username, PrimaryID: u.PrimaryID, Row: row.Number})
	if err != nil {
		return RowOutcome{}, err
	}
	if !added {
		return RowOutcome{Row: row.Number, Subject: row.ID, Outcome: OutcomeDuplicate, Reason: "already a member"}, nil
	}
	return RowOutcome{Row: row.Number, Subject: row.ID, Outcome: OutcomeAdded}, nil
}
