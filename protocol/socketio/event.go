package socketio

// SplitEvent splits an EVENT array: it returns the event name (JSON-unescaped;
// a number name is returned as its JSON text) and the raw text of the
// remaining arguments without the surrounding brackets and outer whitespace,
// e.g. `1,"2",{"3":[true]}` for `["message",1,"2",{"3":[true]}]`; args is
// empty when there are none and aliases data. data is validated (ErrBadPayload
// when it is not a JSON array whose first element is a string or number);
// reserved names are not checked here (Decode does that).
func SplitEvent(data []byte) (name string, args []byte, err error) {
	k, _ := validJSON(data, -1)
	if k != kindArray {
		return "", nil, ErrBadPayload
	}
	raw, k, end := firstElement(data)
	switch k {
	case kindString:
		name = unquote(raw)
	case kindNumber:
		name = string(raw)
	default:
		return "", nil, ErrBadPayload
	}
	i := skipSpace(data, end)
	if data[i] == ']' {
		return name, nil, nil
	}
	return name, arrayRest(data, i+1), nil
}

// ArrayElements returns the raw text between the brackets of a JSON array,
// without outer whitespace (`1,"2"` for ` [ 1,"2" ] `), e.g. to turn ACK data
// into the args of AppendAck. ErrBadPayload when data is not a valid array.
func ArrayElements(data []byte) ([]byte, error) {
	k, _ := validJSON(data, -1)
	if k != kindArray {
		return nil, ErrBadPayload
	}
	return arrayRest(data, skipSpace(data, 0)+1), nil
}

// arrayRest returns data[i:closing bracket] trimmed of whitespace.
func arrayRest(data []byte, i int) []byte {
	end := len(data)
	for end > 0 && isSpace(data[end-1]) {
		end--
	}
	end-- // the ']'
	i = skipSpace(data, i)
	for end > i && isSpace(data[end-1]) {
		end--
	}
	if end <= i {
		return nil
	}
	return data[i:end:end]
}

// ValidatePlaceholders checks the binary placeholders {"_placeholder":true,
// "num":N} of a BinaryEvent/BinaryAck payload: every N must be an integer in
// 0..attachments-1 (ErrBadAttachments otherwise; ErrBadPayload for invalid
// JSON). Decode already applies it to binary packets.
func ValidatePlaceholders(data []byte, attachments int) error {
	if attachments < 0 {
		attachments = 0
	}
	k, ok := validJSON(data, attachments)
	if k == kindInvalid {
		return ErrBadPayload
	}
	if !ok {
		return ErrBadAttachments
	}
	return nil
}
