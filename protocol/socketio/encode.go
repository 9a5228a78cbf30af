package socketio

import (
	"strconv"

	"github.com/pushgate/pushgate/protocol/jsontext"
)

// AppendPacket appends p as <type>[<attachments>-][<nsp>,][<ackId>][<Data>].
// The namespace is written only when it is neither "/" nor ""; attachments
// only for BinaryEvent/BinaryAck; the ack id only when AckID ≥ 0. Data is
// written as is (pre-encoded JSON). The Engine.IO "4" prefix is not written:
// append it to dst first.
func AppendPacket(dst []byte, p Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.IsBinary() {
		dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		dst = append(dst, '-')
	}
	dst = appendNamespace(dst, p.Namespace)
	if p.AckID >= 0 {
		dst = strconv.AppendInt(dst, p.AckID, 10)
	}
	return append(dst, p.Data...)
}

func appendNamespace(dst []byte, nsp string) []byte {
	if nsp == "" || nsp == "/" {
		return dst
	}
	dst = append(dst, nsp...)
	return append(dst, ',')
}

// AppendConnect appends the CONNECT reply 0/nsp,{"sid":"…"} ("0{…}" for "/").
func AppendConnect(dst []byte, nsp string, sid string) []byte {
	dst = append(dst, '0')
	dst = appendNamespace(dst, nsp)
	dst = append(dst, `{"sid":`...)
	dst = AppendJSONString(dst, sid)
	return append(dst, '}')
}

// AppendConnectError appends 4/nsp,{"message":"…","data":<data>}; message is
// JSON-escaped, data is pre-encoded JSON and "data" is omitted when data is nil.
func AppendConnectError(dst []byte, nsp, message string, data []byte) []byte {
	dst = append(dst, '4')
	dst = appendNamespace(dst, nsp)
	dst = append(dst, `{"message":`...)
	dst = AppendJSONString(dst, message)
	if data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, data...)
	}
	return append(dst, '}')
}

// AppendEvent appends 2/nsp,["name",<arg>] (2["name",<arg>] for "/"); arg is
// pre-encoded JSON, omitted when empty (2["name"]). 0 allocations when dst
// has capacity.
func AppendEvent(dst []byte, nsp string, name string, arg []byte) []byte {
	dst = append(dst, '2')
	dst = appendNamespace(dst, nsp)
	return AppendArray(dst, name, arg)
}

// AppendEventAck is AppendEvent with an ack id: 2/nsp,<id>["name",<arg>].
func AppendEventAck(dst []byte, nsp string, id int64, name string, arg []byte) []byte {
	dst = append(dst, '2')
	dst = appendNamespace(dst, nsp)
	dst = strconv.AppendInt(dst, id, 10)
	return AppendArray(dst, name, arg)
}

// AppendAck appends the ACK 3/nsp,<id>[<args>]; args is the raw text of the
// array elements (e.g. from SplitEvent), empty for [].
func AppendAck(dst []byte, nsp string, id int64, args []byte) []byte {
	dst = append(dst, '3')
	dst = appendNamespace(dst, nsp)
	dst = strconv.AppendInt(dst, id, 10)
	return AppendArray(dst, "", args)
}

// AppendDisconnect appends 1/nsp, (just "1" for "/").
func AppendDisconnect(dst []byte, nsp string) []byte {
	dst = append(dst, '1')
	return appendNamespace(dst, nsp)
}

// AppendArray appends "[" + the quoted name (when name != "") + "," (when
// both are present) + args + "]": ["message-back",<args>], or [<args>] for
// ack arrays. args is the raw text of the remaining elements.
func AppendArray(dst []byte, name string, args []byte) []byte {
	dst = append(dst, '[')
	if name != "" {
		dst = AppendJSONString(dst, name)
		if len(args) > 0 {
			dst = append(dst, ',')
		}
	}
	dst = append(dst, args...)
	return append(dst, ']')
}

// AppendJSONString appends s as a JSON string literal the way JSON.stringify writes it (see
// protocol/jsontext).
func AppendJSONString(dst []byte, s string) []byte { return jsontext.AppendString(dst, s) }
