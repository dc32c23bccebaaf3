package acmetest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// b64 is the base64url alphabet without padding that JOSE uses throughout.
var b64 = base64.RawURLEncoding

// algorithms are the JWS signature algorithms accepted, those the acme
// package signs with: ES256 for autocert's P-256 account keys, RS256 for
// RSA keys, and ES384 and ES512 for the other curves.
var algorithms = []string{"ES256", "ES384", "ES512", "RS256"}

// jws is a flattened JWS (RFC 7515 section 7.2.2) taken apart, before its
// signature is checked.
type jws struct {
	alg, kid, nonce, url string
	hasNonce             bool
	jwk                  crypto.PublicKey // the "jwk" header's key; nil if absent
	payload              []byte           // decoded; empty for POST-as-GET
	input, sig           []byte           // signing input protected.payload, and signature
}

// parseJWS decodes a flattened JWS. RFC 8555 section 6.2 forbids the
// general serialization (several signatures) and unprotected headers, so
// any member but protected, payload and signature is refused.
func parseJWS(body []byte) (*jws, *Problem) {
	var raw struct {
		Protected string `json:"protected"`
		Payload   string `json:"payload"`
		Signature string `json:"signature"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, malformed("request is not a flattened JWS: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed("data after the JWS")
	}
	hdr, err1 := b64.DecodeString(raw.Protected)
	payload, err2 := b64.DecodeString(raw.Payload)
	sig, err3 := b64.DecodeString(raw.Signature)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, malformed("JWS member is not base64url: %v", err)
	}
	var h struct {
		Alg   string          `json:"alg"`
		KID   string          `json:"kid"`
		JWK   json.RawMessage `json:"jwk"`
		Nonce *string         `json:"nonce"`
		URL   string          `json:"url"`
		Crit  json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(hdr, &h); err != nil {
		return nil, malformed("JWS protected header: %v", err)
	}
	if h.Crit != nil {
		return nil, malformed("JWS header crit is not supported")
	}
	j := &jws{alg: h.Alg, kid: h.KID, url: h.URL, payload: payload, sig: sig,
		input: []byte(raw.Protected + "." + raw.Payload)}
	if h.Nonce != nil {
		j.nonce, j.hasNonce = *h.Nonce, true
	}
	if h.JWK != nil {
		pub, p := parseJWK(h.JWK)
		if p != nil {
			return nil, p
		}
		j.jwk = pub
	}
	return j, nil
}

// curves maps JWK crv names to curves and back.
var curves = map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}

// parseJWK decodes an EC or RSA public key from its JWK (RFC 7518 section 6).
func parseJWK(b []byte) (crypto.PublicKey, *Problem) {
	var k struct{ Kty, Crv, X, Y, N, E string }
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, malformed("jwk: %v", err)
	}
	switch k.Kty {
	case "EC":
		curve, ok := curves[k.Crv]
		if !ok {
			return nil, problem(400, "badPublicKey", "jwk: unsupported curve %q", k.Crv)
		}
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		size := (curve.Params().BitSize + 7) / 8
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, malformed("jwk: x and y must be %d-byte base64url", size)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, problem(400, "badPublicKey", "jwk: %v", err)
		}
		return pub, nil
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, malformed("jwk: bad RSA n or e")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 || pub.E < 3 || pub.E%2 == 0 {
			return nil, problem(400, "badPublicKey", "jwk: RSA keys need 2048 bits or more and an odd exponent")
		}
		return pub, nil
	}
	return nil, problem(400, "badPublicKey", "jwk: unsupported key type %q", k.Kty)
}

// verify checks the JWS signature over protected.payload with pub, whose
// type and curve must be the ones alg names. ECDSA signatures are r||s, each
// the curve's size (RFC 7518 section 3.4).
func (j *jws) verify(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var digest []byte
		switch name := k.Curve.Params().Name; {
		case j.alg == "ES256" && name == "P-256":
			d := sha256.Sum256(j.input)
			digest = d[:]
		case j.alg == "ES384" && name == "P-384":
			d := sha512.Sum384(j.input)
			digest = d[:]
		case j.alg == "ES512" && name == "P-521":
			d := sha512.Sum512(j.input)
			digest = d[:]
		default:
			return fmt.Errorf("alg %s does not fit a %s key", j.alg, name)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(j.sig) != 2*size {
			return fmt.Errorf("%s signature is %d bytes, want %d", j.alg, len(j.sig), 2*size)
		}
		r, s := new(big.Int).SetBytes(j.sig[:size]), new(big.Int).SetBytes(j.sig[size:])
		if !ecdsa.Verify(k, digest, r, s) {
			return errors.New("bad ECDSA signature")
		}
		return nil
	case *rsa.PublicKey:
		if j.alg != "RS256" {
			return fmt.Errorf("alg %s does not fit an RSA key", j.alg)
		}
		d := sha256.Sum256(j.input)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], j.sig)
	}
	return fmt.Errorf("unsupported key %T", pub)
}

// thumbprint is the RFC 7638 JWK thumbprint of pub, base64url: SHA-256 of
// the required members in lexicographic order, without white space.
func thumbprint(pub crypto.PublicKey) (string, error) {
	var jwk string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return "", err
		}
		size := (len(b) - 1) / 2
		jwk = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`,
			k.Curve.Params().Name, b64.EncodeToString(b[1:1+size]), b64.EncodeToString(b[1+size:]))
	case *rsa.PublicKey:
		jwk = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`,
			b64.EncodeToString(big.NewInt(int64(k.E)).Bytes()), b64.EncodeToString(k.N.Bytes()))
	default:
		return "", fmt.Errorf("unsupported key %T", pub)
	}
	sum := sha256.Sum256([]byte(jwk))
	return b64.EncodeToString(sum[:]), nil
}
