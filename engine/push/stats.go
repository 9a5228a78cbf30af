package push

import (
	"sync/atomic"

	"github.com/pushgate/pushgate/engine/conn"
)

// Stats counts subscription outcomes per transport, read by the metrics at scrape time.
type Stats struct {
	Accepted [2]atomic.Int64             // by transport (TransportSocketIO, TransportSSE)
	Refused  [2][numCodes]atomic.Int64   // by transport and failure code
	Ended    [numEndReasons]atomic.Int64 // server-initiated ends by reason
}

// Transport indexes.
const (
	TransportSocketIO = 0
	TransportSSE      = 1
)

// Codes are the failure codes of contract.md, in index order.
var Codes = [...]string{"unauthorized", "forbidden", "not_found", "bad_request", "unavailable"}

const numCodes = len(Codes)

// EndReasons are the reasons of server-initiated subscription ends, in index order
// (pushgate_server_disconnects_total{reason}).
var EndReasons = [...]conn.CloseReason{conn.ReasonStreamDeleted, conn.ReasonPermissionRevoked, conn.ReasonTokenExpired, conn.ReasonShutdown,
	conn.ReasonDisconnectedByAdmin, conn.ReasonTokenRevoked}

const numEndReasons = len(EndReasons)

func codeIndex(code string) int {
	for i, c := range Codes {
		if c == code {
			return i
		}
	}
	return len(Codes) - 1
}

func (s *Stats) refused(transport int, f *Failure) {
	if s != nil {
		s.Refused[transport][codeIndex(f.Code)].Add(1)
	}
}

func (s *Stats) accepted(transport int) {
	if s != nil {
		s.Accepted[transport].Add(1)
	}
}

func (s *Stats) ended(reason conn.CloseReason) {
	if s == nil {
		return
	}
	for i, r := range EndReasons {
		if r == reason {
			s.Ended[i].Add(1)
		}
	}
}
