// Package batch is the answer shape of the routes that take a list of
// items and judge each alone (events; exposures sent by a backend): one
// outcome per item, in order, and the counts.
package batch

// Statuses of one item.
const (
	StatusStored = "accepted"
	StatusDup    = "duplicate"
	StatusReject = "rejected"
)

// Outcome is what happened to one item of the batch.
type Outcome struct {
	Index  int           `json:"index"`
	ID     string        `json:"id,omitempty"`
	Status string        `json:"status"`
	Error  *OutcomeError `json:"error,omitempty"`
}

// OutcomeError says why one item was rejected.
type OutcomeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Batch is the outcome of a batch.
type Batch struct {
	Accepted   int       `json:"accepted"`
	Duplicates int       `json:"duplicates"`
	Rejected   int       `json:"rejected"`
	Results    []Outcome `json:"results"`
}

// New is the answer for n items, none judged yet.
func New(n int) Batch { return Batch{Results: make([]Outcome, n)} }

// Stored records item i, with id, as stored now (created) or before.
func (b *Batch) Stored(i int, id string, created bool) {
	status := StatusStored
	if created {
		b.Accepted++
	} else {
		status = StatusDup
		b.Duplicates++
	}
	b.Results[i] = Outcome{Index: i, ID: id, Status: status}
}

// Reject records item i as rejected with code and message.
func (b *Batch) Reject(i int, code, message string) {
	b.Results[i] = Outcome{Index: i, Status: StatusReject, Error: &OutcomeError{Code: code, Message: message}}
	b.Rejected++
}

// Take copies the outcomes of part, a batch of some of b's items, into b:
// part's item j is b's item at[j].
func (b *Batch) Take(part Batch, at []int) {
	for j, o := range part.Results {
		o.Index = at[j]
		b.Results[at[j]] = o
	}
	b.Accepted += part.Accepted
	b.Duplicates += part.Duplicates
	b.Rejected += part.Rejected
}
