package apiwire

import "time"

// CreateSharePhraseRequest is POST /v1/me/share-phrases.
type CreateSharePhraseRequest struct {
	Direction string `json:"direction"`
}

// SharePhrase is an active phrase; Phrase is set only in the answer that
// made it.
type SharePhrase struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"`
	CreatedAt time.Time `json:"createdAt"`
	Phrase    string    `json:"phrase,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// SharePhraseList is GET /v1/me/share-phrases.
type SharePhraseList struct {
	SharePhrases []SharePhrase `json:"sharePhrases"`
}

// ConnectRequest is POST /v1/me/links.
type ConnectRequest struct {
	Barcode string `json:"barcode"`
	Phrase  string `json:"phrase"`
}

// LinkedAccount is the other account of a link: never more than a linked
// holder needs to recognise it.
type LinkedAccount struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Barcode  string `json:"barcode"` // masked: the last four characters
}

// Link is one link as one of its accounts sees it.
type Link struct {
	ID                   string        `json:"id"`
	Account              LinkedAccount `json:"account"`
	Direction            string        `json:"direction"`
	IManage              bool          `json:"iManage"`
	ManagesMe            bool          `json:"managesMe"`
	AwaitingConfirmation bool          `json:"awaitingConfirmation"`
	Active               bool          `json:"active"`
	Since                time.Time     `json:"since"`
	ConfirmedAt          *time.Time    `json:"confirmedAt,omitempty"`
	Note                 string        `json:"note,omitempty"`
}

// LinkList is GET /v1/me/links and GET /v1/admin/users/{id}/links.
type LinkList struct {
	Manages   []Link `json:"manages"`
	ManagedBy []Link `json:"managedBy"`
}

// Checkout is one loan.
type Checkout struct {
	ID              string    `json:"id"`
	ItemBarcode     string    `json:"itemBarcode,omitempty"`
	Title           string    `json:"title"`
	CheckedOutAt    time.Time `json:"checkedOutAt"`
	DueAt           time.Time `json:"dueAt"`
	RenewalsUsed    int       `json:"renewalsUsed"`
	RenewalsAllowed int       `json:"renewalsAllowed"`
	OthersWaiting   int       `json:"othersWaiting"`
}

// CheckoutList lists loans.
type CheckoutList struct {
	Checkouts []Checkout `json:"checkouts"`
}

// Hold is one hold.
type Hold struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	ItemBarcode    string     `json:"itemBarcode,omitempty"`
	PlacedAt       time.Time  `json:"placedAt"`
	Status         string     `json:"status"`
	QueuePosition  int        `json:"queuePosition"`
	PickupLocation string     `json:"pickupLocation,omitempty"`
	ExpiresAt      *time.Time `json:"expiresAt,omitempty"`
	SuspendedUntil *time.Time `json:"suspendedUntil,omitempty"`
}

// HoldList lists holds.
type HoldList struct {
	Holds []Hold `json:"holds"`
}

// FeedHold is POST /v1/admin/users/{id}/holds: a hold as the ILS reports it.
type FeedHold struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	ItemBarcode    string     `json:"itemBarcode"`
	PlacedAt       time.Time  `json:"placedAt"`
	Status         string     `json:"status"`
	QueuePosition  int        `json:"queuePosition"`
	PickupLocation string     `json:"pickupLocation"`
	ExpiresAt      *time.Time `json:"expiresAt"`
	SuspendedUntil *time.Time `json:"suspendedUntil"`
}

// PlaceHoldRequest is POST /v1/patrons/me/holds.
type PlaceHoldRequest struct {
	Title          string `json:"title"`
	ItemBarcode    string `json:"itemBarcode"`
	PickupLocation string `json:"pickupLocation"`
}

// HoldPatch is PATCH /v1/patrons/{id}/holds/{holdId}.
type HoldPatch struct {
	PickupLocation *string    `json:"pickupLocation"`
	SuspendUntil   *time.Time `json:"suspendUntil"`
	Resume         bool       `json:"resume"`
}

// Activity is one line of GET /v1/me/activity.
type Activity struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	ByMe    bool      `json:"byMe"`
	Action  string    `json:"action"`
	Subject string    `json:"subject,omitempty"`
}

// ActivityList is GET /v1/me/activity.
type ActivityList struct {
	Activity []Activity `json:"activity"`
}
