package sqsemu

import (
	"container/heap"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/libaccounts/libaccounts/internal/devstack/hostos"
)

// message is one stored message. Its fields are guarded by Service.mu;
// body and attrs never change once it is stored.
type message struct {
	id        string
	seq       uint64 // arrival order, breaks ties in the heap
	body      string
	md5       string
	attrs     map[string]attrValue
	trace     string
	sender    string
	sent      time.Time
	firstRecv time.Time
	count     int       // ApproximateReceiveCount
	visibleAt time.Time // when it can be received: sent+delay, or the end of its visibility timeout
	nonce     string    // of the latest receipt handle; "" if never received here
	dlqSource string    // ARN of the queue it was moved from by the redrive policy
	size      int64     // approximate bytes in the log, for compaction
	idx       int       // position in queue.h
}

// queue is one queue's state, guarded by Service.mu.
type queue struct {
	cfg     QueueConfig
	arn     string
	url     string
	dlq     *queue
	created time.Time
	msgs    map[string]*message
	h       msgHeap
	wake    chan struct{} // closed (and replaced) when a message may have become receivable
}

func newQueue(cfg QueueConfig, region, account, baseURL string) *queue {
	return &queue{
		cfg:  cfg,
		arn:  fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, account, cfg.Name),
		url:  baseURL + "/" + account + "/" + cfg.Name,
		msgs: make(map[string]*message),
		wake: make(chan struct{}),
	}
}

func (q *queue) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// nextVisible is the earliest time a message of q becomes receivable, zero
// if q is empty.
func (q *queue) nextVisible() time.Time {
	if len(q.h) == 0 {
		return time.Time{}
	}
	return q.h[0].visibleAt
}

// msgHeap orders messages by the time they become visible, then by arrival.
type msgHeap []*message

func (h msgHeap) Len() int { return len(h) }
func (h msgHeap) Less(i, j int) bool {
	if !h[i].visibleAt.Equal(h[j].visibleAt) {
		return h[i].visibleAt.Before(h[j].visibleAt)
	}
	return h[i].seq < h[j].seq
}
func (h msgHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *msgHeap) Push(x any) {
	m := x.(*message)
	m.idx = len(*h)
	*h = append(*h, m)
}
func (h *msgHeap) Pop() any {
	old := *h
	n := len(old)
	m := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	m.idx = -1
	return m
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func messageSize(r *record) int64 {
	n := int64(len(r.Body) + len(r.Trace) + 256)
	for k, v := range r.Attrs {
		n += int64(len(k)+len(v.DataType)+len(v.BinaryValue)*4/3+32) + int64(len(deref(v.StringValue)))
	}
	return n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// apply changes the in-memory state as r says. The live operations and the
// replay of the log both go through it, so what is replayed is exactly what
// ran. Records about messages that no longer exist are ignored. get returns
// the queue with a name, nil if there is none.
func (s *Service) apply(r *record, get func(string) *queue) {
	q := get(r.Queue)
	if q == nil {
		return
	}
	now := s.now()
	switch r.Op {
	case opQueue:
		q.created = fromNanos(r.Created)
	case opMsg:
		if old := q.msgs[r.ID]; old != nil {
			s.remove(q, old)
		}
		m := &message{
			id: r.ID, body: r.Body, md5: md5Hex(r.Body), attrs: r.Attrs, trace: r.Trace, sender: r.Sender,
			sent: fromNanos(r.Sent), firstRecv: fromNanos(r.First), count: r.Count,
			visibleAt: fromNanos(r.Visible), nonce: r.Nonce, dlqSource: r.DLQSource, size: messageSize(r),
		}
		s.insert(q, m)
		if !m.visibleAt.After(now) {
			q.signal()
		}
	case opRecv:
		if m := q.msgs[r.ID]; m != nil {
			m.count = r.Count
			m.firstRecv = fromNanos(r.First)
			m.nonce = r.Nonce
			m.visibleAt = fromNanos(r.Visible)
			heap.Fix(&q.h, m.idx)
		}
	case opDel:
		if m := q.msgs[r.ID]; m != nil {
			s.remove(q, m)
		}
	case opMove:
		m := q.msgs[r.ID]
		to := get(r.To)
		if m == nil || to == nil {
			return
		}
		s.remove(q, m)
		if old := to.msgs[m.id]; old != nil {
			s.remove(to, old)
		}
		m.count, m.firstRecv, m.nonce = 0, time.Time{}, ""
		m.visibleAt = fromNanos(r.Visible)
		m.dlqSource = r.DLQSource
		s.insert(to, m)
		to.signal()
	}
}

func (s *Service) insert(q *queue, m *message) {
	s.nextSeq++
	m.seq = s.nextSeq
	q.msgs[m.id] = m
	heap.Push(&q.h, m)
	s.live += m.size
}

func (s *Service) remove(q *queue, m *message) {
	heap.Remove(&q.h, m.idx)
	delete(q.msgs, m.id)
	s.live -= m.size
}

// snapshot is the record that recreates m in q.
func snapshot(q *queue, m *message) *record {
	return &record{
		Op: opMsg, Queue: q.cfg.Name, ID: m.id, Body: m.body, Attrs: m.attrs, Trace: m.trace, Sender: m.sender,
		Sent: nanos(m.sent), First: nanos(m.firstRecv), Count: m.count, Visible: nanos(m.visibleAt),
		Nonce: m.nonce, DLQSource: m.dlqSource,
	}
}

// delivery is a copy of a message as one receive handed it out.
type delivery struct {
	id, body, md5, handle string
	attrs                 map[string]attrValue
	trace, sender         string
	dlqSource             string
	sent, firstRecv       time.Time
	count                 int
	size                  int64
}

// receiveLocked takes up to limit visible messages of q, at most budget bytes
// of them when budget > 0 (but at least one), makes them invisible for vt
// and logs that. On the way it deletes expired messages and moves those
// received maxReceiveCount times to the dead-letter queue.
func (s *Service) receiveLocked(q *queue, limit int, vt time.Duration, budget int64) ([]delivery, error) {
	now := s.now()
	var recs []*record
	var out []delivery
	var size int64
	taken := make(map[*message]bool)
	for len(out) < limit && len(q.h) > 0 {
		m := q.h[0]
		if m.visibleAt.After(now) || taken[m] {
			break
		}
		if !now.Before(m.sent.Add(q.cfg.MessageRetention)) {
			r := &record{Op: opDel, Queue: q.cfg.Name, ID: m.id}
			s.apply(r, s.queue)
			recs = append(recs, r)
			continue
		}
		if q.dlq != nil && m.count >= q.cfg.MaxReceiveCount {
			r := &record{Op: opMove, Queue: q.cfg.Name, ID: m.id, To: q.dlq.cfg.Name, Visible: nanos(now), DLQSource: q.arn}
			s.log.Info("message moved to the dead-letter queue", "queue", q.cfg.Name, "dlq", q.dlq.cfg.Name, "message_id", m.id, "receive_count", m.count)
			s.apply(r, s.queue)
			recs = append(recs, r)
			continue
		}
		if budget > 0 && len(out) > 0 && size+m.size > budget {
			break
		}
		first := m.firstRecv
		if first.IsZero() {
			first = now
		}
		r := &record{Op: opRecv, Queue: q.cfg.Name, ID: m.id, Count: m.count + 1, First: nanos(first), Visible: nanos(now.Add(vt)), Nonce: newNonce()}
		s.apply(r, s.queue)
		recs = append(recs, r)
		taken[m] = true
		size += m.size
		out = append(out, delivery{
			id: m.id, body: m.body, md5: m.md5, handle: receiptHandle(q.cfg.Name, m.id, m.nonce),
			attrs: m.attrs, trace: m.trace, sender: m.sender, dlqSource: m.dlqSource,
			sent: m.sent, firstRecv: m.firstRecv, count: m.count, size: m.size,
		})
	}
	if len(recs) > 0 {
		if _, err := s.appendLocked(recs...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// deleteLocked deletes the message a receipt handle names. Like SQS it
// succeeds for a message that is already gone; a handle from an earlier
// receive of a message that has been received again since deletes nothing
// (the later receiver owns it now).
func (s *Service) deleteLocked(q *queue, handle string) (*record, *apiError) {
	qname, id, nonce, ok := parseReceiptHandle(handle)
	if !ok || qname != q.cfg.Name {
		return nil, errReceiptHandleInvalid(handle)
	}
	m := q.msgs[id]
	if m == nil || m.nonce != nonce {
		return nil, nil
	}
	r := &record{Op: opDel, Queue: q.cfg.Name, ID: id}
	s.apply(r, s.queue)
	return r, nil
}

// receiptHandle encodes where a message is and which receive handed it out.
func receiptHandle(queue, id, nonce string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(queue + "\x00" + id + "\x00" + nonce))
}

func parseReceiptHandle(h string) (queue, id, nonce string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", "", "", false
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

func newNonce() string { return base64.RawURLEncoding.EncodeToString(hostos.Random(12)) }
