package accounts

import "context"

// RenderNotice lets the black-box tests render a notice as the sender does.
func (s *Service) RenderNotice(ctx context.Context, t Tenant, kind NoticeKind, data map[string]string) (subject, body string, err error) {
	return s.renderNotice(ctx, t, kind, data)
}
