package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// Secrets at rest. With Settings.SecretsKey the signing secrets are sealed (AES-256-GCM under
// SHA-256 of the key, the endpoint key as associated data) before they reach the store — and, in
// Kafka mode, the config topic — so neither the bbolt file nor the topic discloses them. Every
// instance needs the same key. A state written before the key was set is read as it is and sealed
// on its next write (a rotation); a state that does not open (another key, or none) is never
// replaced by a new secret: the endpoint sends nothing and the error is logged.

const sealedPrefix = "sealed:v1:"

// errSealed reports a sealed secret this instance cannot open.
var errSealed = errors.New("webhook: a signing secret is sealed with another --webhook-secrets-key (or one is needed)")

type sealer struct{ aead cipher.AEAD }

func newSealer(key string) (*sealer, error) {
	if key == "" {
		return nil, nil
	}
	k := sha256.Sum256([]byte(key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead}, nil
}

func (s *sealer) seal(plain, endpointKey string) string {
	if s == nil || plain == "" {
		return plain
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(endpointKey))
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(out)
}

func (s *sealer) open(v, endpointKey string) (string, error) {
	b64, sealed := strings.CutPrefix(v, sealedPrefix)
	if !sealed {
		return v, nil
	}
	if s == nil {
		return "", errSealed
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(b64) // one spelling per sealed value
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errSealed
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(endpointKey))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}

// encodeShared is the stored form of v: its secrets sealed when a key is set.
func (s *Service) encodeShared(endpointKey string, v sharedState) []byte {
	v.Secret, v.Previous = s.sealer.seal(v.Secret, endpointKey), s.sealer.seal(v.Previous, endpointKey)
	b, _ := json.Marshal(v)
	return b
}

// decodeShared reads a stored shared state; errSealed when its secrets do not open here.
func (s *Service) decodeShared(endpointKey string, raw []byte) (sharedState, error) {
	var v sharedState
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, err
	}
	var err error
	if v.Secret, err = s.sealer.open(v.Secret, endpointKey); err != nil {
		return sharedState{}, err
	}
	if v.Previous, err = s.sealer.open(v.Previous, endpointKey); err != nil {
		return sharedState{}, err
	}
	return v, nil
}
