// Package jsontext holds the one JSON string encoder every pushgate codec shares: it writes a
// string literal byte-for-byte as JavaScript's JSON.stringify does ('"' and '\' escaped,
// control characters as \b \f \n \r \t or \u00XX, no HTML escaping of <>&, U+2028/U+2029 kept,
// invalid UTF-8 as \ufffd), because clients compare echoed text exactly. Pure: bytes in, bytes
// out, no allocation beyond growing dst.
package jsontext
