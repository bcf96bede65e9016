// Package sqsemu emulates Amazon SQS standard queues and Lambda's SQS
// event source mapping on the local machine, durably.
//
// Service serves the part of the SQS API that libaccounts uses (the AWS
// JSON 1.0 protocol that aws-sdk-go-v2/service/sqs speaks: SendMessage and
// SendMessageBatch, plus ReceiveMessage and DeleteMessage to look into a
// queue) for a fixed set of queues, and Start
// runs event source mappings that poll a queue and invoke a function with
// events.SQSEvent batches, as Lambda does. StartRaw delivers each message's
// body as the function's event instead, for events (S3 notifications) that
// the stack queues durably before handing them to a function.
//
// Semantics are those of a standard queue: at-least-once delivery, a
// visibility timeout per receive, a per-message ApproximateReceiveCount, and
// a redrive policy that moves a message to its dead-letter queue instead of
// receiving it a (MaxReceiveCount+1)th time. Message order is best-effort
// FIFO.
//
// Every message not yet deleted survives the process being SIGKILLed (see
// wal.go for the log format). In-flight state is persisted too: after a
// restart a message that was received but not deleted keeps its receive
// count and stays invisible until its visibility timeout, as it would in
// SQS, and then is delivered again. A Dir must be used by one Service at a
// time.
package sqsemu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/clock"
)

const (
	defaultVisibilityTimeout = 30 * time.Second
	maxVisibilityTimeout     = 12 * time.Hour
	defaultRetention         = 4 * 24 * time.Hour
	maxRetention             = 14 * 24 * time.Hour
	maxMaxReceiveCount       = 1000
	maxMessageBytes          = 262144 // 256 KiB, body plus message attributes
	maxDelay                 = 15 * time.Minute
	maxWaitTime              = 20 * time.Second

	defaultRegion    = "us-east-1"
	defaultAccountID = "123456789012"
	defaultBaseURL   = "http://localhost/_local/sqs"

	// syncInterval bounds how long a receive, delete or visibility change
	// can sit in the page cache before it is fsynced.
	syncInterval = time.Second
	// sweepInterval is how often expired messages are deleted (receives
	// also drop them as they meet them).
	sweepInterval = time.Minute
)

var (
	// ErrUnknownQueue is returned for a queue name that was not configured.
	ErrUnknownQueue = errors.New("sqsemu: queue does not exist")
	// ErrClosed is returned once Close has been called.
	ErrClosed = errors.New("sqsemu: service closed")
	// ErrInvalidMessage is returned by Send for a body SQS would refuse.
	ErrInvalidMessage = errors.New("sqsemu: invalid message")
)

// QueueConfig describes one standard queue.
type QueueConfig struct {
	Name              string
	VisibilityTimeout time.Duration // default 30s, at most 12h
	// MaxReceiveCount is the redrive policy: a message received this many
	// times without being deleted moves to DeadLetterQueue instead of being
	// received again. 0 means no redrive policy.
	MaxReceiveCount  int
	DeadLetterQueue  string        // name of another configured queue; required with MaxReceiveCount
	MessageRetention time.Duration // default 4 days, at most 14 days
}

// Options configures a Service.
type Options struct {
	Dir       string // durable storage, created if missing; required
	Region    string // default us-east-1
	AccountID string // default 123456789012
	// BaseURL is where ServeHTTP is reachable, e.g.
	// http://127.0.0.1:3000/_local/sqs; queue URLs are
	// <BaseURL>/<AccountID>/<name>. Default http://localhost/_local/sqs.
	BaseURL string
	Logger  *slog.Logger // default: discard
	// Clock times visibility, delays, retention, long polls and batching
	// windows; default the real one. The log's fsync cadence is always
	// wall time: it bounds what a real crash can lose.
	Clock clock.Clock
}

// Service is a set of durable queues. Its methods are safe for concurrent
// use.
type Service struct {
	opts   Options
	log    *slog.Logger
	clk    clock.Clock
	now    func() time.Time  // clk.Now
	queues map[string]*queue // configured queues; the map never changes after New
	names  []string          // sorted

	mu      sync.Mutex // guards all queue and message state, the log's appends, and the fields below
	wal     *wal
	orphans map[string]*queue // queues in the log that are no longer configured; their messages are kept
	nextSeq uint64
	live    int64 // approximate log bytes of the live state
	closed  bool
	cancels []context.CancelFunc

	closeCh   chan struct{}
	closeOnce sync.Once
	kick      chan struct{} // asks the janitor to compact
	wg        sync.WaitGroup
}

// New opens (or creates) the store in opts.Dir, recovers every message it
// holds, and returns a Service for queues.
func New(queues []QueueConfig, opts Options) (*Service, error) {
	if opts.Dir == "" {
		return nil, errors.New("sqsemu: Options.Dir is required")
	}
	if opts.Region == "" {
		opts.Region = defaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = defaultAccountID
	}
	if opts.BaseURL == "" {
		opts.BaseURL = defaultBaseURL
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		opts:    opts,
		log:     opts.Logger.With("component", "sqsemu"),
		clk:     opts.Clock,
		queues:  make(map[string]*queue, len(queues)),
		orphans: make(map[string]*queue),
		closeCh: make(chan struct{}),
		kick:    make(chan struct{}, 1),
	}
	if s.clk == nil {
		s.clk = clock.Real()
	}
	s.now = s.clk.Now
	for _, cfg := range queues {
		if err := cfg.check(); err != nil {
			return nil, err
		}
		if cfg.VisibilityTimeout == 0 {
			cfg.VisibilityTimeout = defaultVisibilityTimeout
		}
		if cfg.MessageRetention == 0 {
			cfg.MessageRetention = defaultRetention
		}
		if _, dup := s.queues[cfg.Name]; dup {
			return nil, fmt.Errorf("sqsemu: duplicate queue %q", cfg.Name)
		}
		s.queues[cfg.Name] = newQueue(cfg, opts.Region, opts.AccountID, opts.BaseURL)
		s.names = append(s.names, cfg.Name)
	}
	slices.Sort(s.names)
	for _, q := range s.queues {
		if q.cfg.DeadLetterQueue == "" {
			continue
		}
		dlq := s.queues[q.cfg.DeadLetterQueue]
		if dlq == nil {
			return nil, fmt.Errorf("sqsemu: queue %q: dead-letter queue %q is not configured", q.cfg.Name, q.cfg.DeadLetterQueue)
		}
		q.dlq = dlq
	}

	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqsemu: %w", err)
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	s.wg.Go(s.janitor)
	return s, nil
}

func (c QueueConfig) check() error {
	if c.Name == "" || len(c.Name) > 80 {
		return fmt.Errorf("sqsemu: queue name %q must have 1 to 80 characters", c.Name)
	}
	for _, r := range c.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			if strings.HasSuffix(c.Name, ".fifo") {
				return fmt.Errorf("sqsemu: queue %q: FIFO queues are not supported", c.Name)
			}
			return fmt.Errorf("sqsemu: queue name %q may only hold letters, digits, - and _", c.Name)
		}
	}
	switch {
	case c.VisibilityTimeout < 0 || c.VisibilityTimeout > maxVisibilityTimeout:
		return fmt.Errorf("sqsemu: queue %q: VisibilityTimeout must be between 0 and 12h", c.Name)
	case c.MessageRetention < 0 || c.MessageRetention > maxRetention:
		return fmt.Errorf("sqsemu: queue %q: MessageRetention must be between 0 and 14 days", c.Name)
	case c.MaxReceiveCount < 0 || c.MaxReceiveCount > maxMaxReceiveCount:
		return fmt.Errorf("sqsemu: queue %q: MaxReceiveCount must be between 0 and %d", c.Name, maxMaxReceiveCount)
	case (c.MaxReceiveCount > 0) != (c.DeadLetterQueue != ""):
		return fmt.Errorf("sqsemu: queue %q: MaxReceiveCount and DeadLetterQueue go together", c.Name)
	case c.DeadLetterQueue == c.Name:
		return fmt.Errorf("sqsemu: queue %q is its own dead-letter queue", c.Name)
	}
	return nil
}

// queue returns the configured queue with a name, nil if none.
func (s *Service) queue(name string) *queue { return s.queues[name] }

// recover replays the log, then replaces it with a compacted one.
func (s *Service) recover() error {
	path := filepath.Join(s.opts.Dir, logName)
	_ = os.Remove(path + ".tmp") // an interrupted compaction; the log itself is intact
	get := func(name string) *queue {
		if q := s.queues[name]; q != nil {
			return q
		}
		q := s.orphans[name]
		if q == nil {
			q = newQueue(QueueConfig{Name: name, VisibilityTimeout: defaultVisibilityTimeout, MessageRetention: maxRetention}, s.opts.Region, s.opts.AccountID, s.opts.BaseURL)
			s.orphans[name] = q
		}
		return q
	}
	n := 0
	tail, exists, err := readLog(path, func(r *record) error {
		n++
		s.apply(r, get)
		return nil
	})
	if err != nil {
		return err
	}
	keep := ""
	if tail > 0 {
		keep = fmt.Sprintf("%s.corrupt-%d", path, s.now().Unix())
		s.log.Warn("log ends in a torn or corrupt record; recovered everything before it", "log", path, "discarded_bytes", tail, "kept_as", keep)
	}
	now := s.now()
	for _, q := range s.queues {
		if q.created.IsZero() {
			q.created = now
		}
	}
	for name, q := range s.orphans {
		if len(q.msgs) == 0 {
			delete(s.orphans, name)
			continue
		}
		s.log.Warn("queue is no longer configured; its messages are kept in the store", "queue", name, "messages", len(q.msgs))
	}
	s.wal = &wal{path: path, dir: s.opts.Dir}
	s.wal.cond = sync.NewCond(&s.wal.smu)
	if err := s.compactLocked(keep); err != nil {
		return err
	}
	if exists {
		total := 0
		for _, q := range s.queues {
			total += len(q.msgs)
		}
		s.log.Info("recovered queues", "dir", s.opts.Dir, "records", n, "messages", total)
	}
	return nil
}

// compactLocked rewrites the log as the current state. The caller holds
// s.mu (or is New).
func (s *Service) compactLocked(keepOld string) error {
	var qs []*queue
	for _, name := range s.names {
		qs = append(qs, s.queues[name])
	}
	for _, q := range s.orphans {
		qs = append(qs, q)
	}
	type item struct {
		q *queue
		m *message
	}
	var all []item
	for _, q := range qs {
		for _, m := range q.msgs {
			all = append(all, item{q, m})
		}
	}
	slices.SortFunc(all, func(a, b item) int {
		switch {
		case a.m.seq < b.m.seq:
			return -1
		case a.m.seq > b.m.seq:
			return 1
		}
		return 0
	})
	f, size, err := writeLog(s.wal.path, func(yield func(*record) error) error {
		for _, q := range qs {
			if err := yield(&record{Op: opQueue, Queue: q.cfg.Name, Created: nanos(q.created)}); err != nil {
				return err
			}
		}
		for _, it := range all {
			if err := yield(snapshot(it.q, it.m)); err != nil {
				return err
			}
		}
		return nil
	}, keepOld)
	if f != nil {
		s.wal.swap(f, size)
	}
	if err != nil {
		return fmt.Errorf("sqsemu: compact log: %w", err)
	}
	return nil
}

// appendLocked writes records to the log; the caller holds s.mu.
func (s *Service) appendLocked(recs ...*record) (uint64, error) {
	ticket, err := s.wal.append(recs...)
	if err != nil {
		s.log.Error("cannot write the log", "error", err.Error())
		return 0, err
	}
	if s.wal.size > compactMinBytes && s.wal.size > 4*s.live {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return ticket, nil
}

// janitor fsyncs what was written without it, deletes expired messages
// and compacts the log when asked.
func (s *Service) janitor() {
	tick := time.NewTicker(syncInterval)
	defer tick.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-s.closeCh:
			return
		case <-s.kick:
			s.mu.Lock()
			if !s.closed && s.wal.size > compactMinBytes && s.wal.size > 4*s.live {
				before := s.wal.size
				if err := s.compactLocked(""); err != nil {
					s.log.Error("compaction failed", "error", err.Error())
				} else {
					s.log.Debug("compacted the log", "before_bytes", before, "after_bytes", s.wal.size)
				}
			}
			s.mu.Unlock()
		case <-tick.C:
			if time.Since(lastSweep) >= sweepInterval {
				lastSweep = time.Now()
				s.sweep()
			}
			if s.wal.dirty() {
				if err := s.wal.sync(s.wal.written.Load()); err != nil {
					s.log.Error("cannot fsync the log", "error", err.Error())
				}
			}
		}
	}
}

// sweep deletes messages past their queue's retention period.
func (s *Service) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	now := s.now()
	var recs []*record
	for _, name := range s.names {
		q := s.queues[name]
		for _, m := range q.msgs {
			if !now.Before(m.sent.Add(q.cfg.MessageRetention)) {
				recs = append(recs, &record{Op: opDel, Queue: name, ID: m.id})
			}
		}
	}
	for _, r := range recs {
		s.apply(r, s.queue)
	}
	if len(recs) > 0 {
		s.log.Info("deleted messages past their retention period", "messages", len(recs))
		_, _ = s.appendLocked(recs...)
	}
}

// Send stores a message with body in queue, as SendMessage does, and
// returns its message ID once it is on disk.
func (s *Service) Send(ctx context.Context, queue, body string) (messageID string, err error) {
	return s.SendDelayed(ctx, queue, body, 0)
}

// SendDelayed is Send with DelaySeconds: the message is received no sooner
// than delay (whole seconds, at most 15 minutes) from now.
func (s *Service) SendDelayed(ctx context.Context, queue, body string, delay time.Duration) (messageID string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	q := s.queues[queue]
	if q == nil {
		return "", fmt.Errorf("%w: %q", ErrUnknownQueue, queue)
	}
	secs := int32(delay / time.Second)
	rec, _, aerr := s.newMessage(q, &body, &secs, nil, nil, s.opts.AccountID)
	if aerr != nil {
		return "", fmt.Errorf("%w: %s", ErrInvalidMessage, aerr.msg)
	}
	if err := s.store(rec); err != nil {
		return "", err
	}
	return rec.ID, nil
}

// store appends new messages to the log, applies them and
// waits until they are on disk.
func (s *Service) store(recs ...*record) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	ticket, err := s.appendLocked(recs...)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	for _, r := range recs {
		s.apply(r, s.queue)
	}
	s.mu.Unlock()
	return s.wal.sync(ticket)
}

// receive takes up to max messages from q, making them invisible for vt.
// With wait > 0 it long-polls: it returns as soon as at least one message
// is received, or empty-handed after wait. budget > 0 caps the bytes
// returned (at least one message is). ctx ending ends the wait.
func (s *Service) receive(ctx context.Context, q *queue, limit int, vt, wait time.Duration, budget int64) ([]delivery, error) {
	var deadline <-chan time.Time
	if wait > 0 {
		t := s.clk.NewTimer(wait)
		defer t.Stop()
		deadline = t.C()
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		ds, err := s.receiveLocked(q, limit, vt, budget)
		next, wake := q.nextVisible(), q.wake
		s.mu.Unlock()
		if err != nil || len(ds) > 0 || wait <= 0 {
			return ds, err
		}
		// Wake when the first invisible message becomes visible again.
		var recheck clock.Timer
		var recheckC <-chan time.Time
		if !next.IsZero() {
			recheck = s.clk.NewTimer(max(next.Sub(s.now()), time.Millisecond))
			recheckC = recheck.C()
		}
		var done, closed bool
		select {
		case <-wake:
		case <-recheckC:
		case <-deadline:
			done = true
		case <-ctx.Done():
			done = true
		case <-s.closeCh:
			closed = true
		}
		if recheck != nil {
			recheck.Stop()
		}
		switch {
		case closed:
			return nil, ErrClosed
		case done:
			return nil, ctx.Err()
		}
	}
}

// Stats counts the messages of queue that can be received now and those
// received and not yet visible again (in flight). Delayed messages count
// in neither.
func (s *Service) Stats(queue string) (visible, inFlight int, err error) {
	q := s.queues[queue]
	if q == nil {
		return 0, 0, fmt.Errorf("%w: %q", ErrUnknownQueue, queue)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, 0, ErrClosed
	}
	visible, inFlight, _ = s.countLocked(q)
	return visible, inFlight, nil
}

func (s *Service) countLocked(q *queue) (visible, inFlight, delayed int) {
	now := s.now()
	for _, m := range q.msgs {
		switch {
		case !m.visibleAt.After(now):
			visible++
		case m.count > 0:
			inFlight++
		default:
			delayed++
		}
	}
	return visible, inFlight, delayed
}

// Close stops the mappings, waits for them, and closes the store. Messages
// that are in flight stay so until their visibility timeout ends, after a
// restart too. Close is safe to call more than once.
func (s *Service) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.closeCh)
		cancels := s.cancels
		s.cancels = nil
		s.mu.Unlock()
		for _, cancel := range cancels {
			cancel()
		}
		s.wg.Wait()
		s.mu.Lock()
		err = s.wal.close()
		s.mu.Unlock()
	})
	return err
}
