package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"minitwit/store/fsutil"
)

// Internode TLS. A cluster has its own certificate authority, made by the
// node that bootstraps it; every node holds a certificate from it, and
// every connection on raft_addr is mutual TLS 1.3 checked against it. Node
// certificates name a fixed internal server name (clusterServerName), so
// verification does not depend on which address a node is reached at.
// ACME never plays a part here.
const (
	clusterServerName = "minitwit.cluster.internal"
	// TLSDir is the data dir's folder for the node's certificates (and
	// the public listener's self-signed one, node/publictls).
	TLSDir       = "tls"
	caCertFile   = "ca.crt"
	nodeCertFile = "node.crt"
	nodeKeyFile  = "node.key"
	caValidity   = 20 * 365 * 24 * time.Hour
	// nodeCertValidity bounds a node certificate's life; members renew
	// theirs while they are members (renew.go).
	nodeCertValidity = 90 * 24 * time.Hour
	// certBackdate: a node certificate is valid from an hour before it is
	// issued (clock skew), so NotBefore+certBackdate is when it was issued
	// (boundary.go's revocations compare that).
	certBackdate = time.Hour
)

// CA signs node certificates. Its key is part of the replicated state,
// so any member can admit a joining node.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	keyPEM  []byte
}

// NewCA makes a new cluster CA (the bootstrapping node does).
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "minitwit cluster CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return ParseCA(pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER))
}

// ParseCA reads a CA from its PEM certificate and key (the replicated
// state's cluster secrets).
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster CA certificate: %w", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("cluster CA key: not PEM")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cluster CA key: %w", err)
	}
	return &CA{cert: cert, certPEM: certPEM, key: key, keyPEM: keyPEM}, nil
}

// CertPEM is the CA's certificate.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// KeyPEM is the CA's private key.
func (ca *CA) KeyPEM() []byte { return ca.keyPEM }

// Issue signs a certificate for a node's public key.
func (ca *CA) Issue(nodeID string, pub *ecdsa.PublicKey) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: nodeID, OrganizationalUnit: []string{"minitwit node"}},
		NotBefore:    time.Now().Add(-certBackdate),
		NotAfter:     time.Now().Add(nodeCertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{clusterServerName},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, err
	}
	return pemBlock("CERTIFICATE", der), nil
}

// TLS is this node's identity on raft_addr.
type TLS struct {
	caPEM []byte
	pool  *x509.CertPool
	cert  atomic.Pointer[tls.Certificate] // the current one: renew.go swaps it
	// keyPEM is the node's private key, which a renewed certificate keeps.
	keyPEM []byte
	id     string // the node id in the certificate
	// Dial opens the raw connection under TLS when set (a test's fault
	// point, node.Options.DialCluster); nil dials directly.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// NewNodeKey makes a node's private key, returned with its PEM form.
func NewNodeKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pemBlock("EC PRIVATE KEY", der), nil
}

// MakeTLS checks a node certificate against the CA and makes the identity.
func MakeTLS(caPEM, certPEM, keyPEM []byte) (*TLS, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("cluster CA certificate: not PEM")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("node certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("node certificate is not from this cluster's CA: %w", err)
	}
	pair.Leaf = leaf
	t := &TLS{caPEM: caPEM, pool: pool, id: leaf.Subject.CommonName, keyPEM: keyPEM}
	t.cert.Store(&pair)
	return t, nil
}

// LoadTLS reads the node's certificates from the data dir; it returns
// (nil, nil) when there are none yet.
func LoadTLS(dataDir string) (*TLS, error) {
	dir := filepath.Join(dataDir, TLSDir)
	caPEM, err := os.ReadFile(filepath.Join(dir, caCertFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	certPEM, err1 := os.ReadFile(filepath.Join(dir, nodeCertFile))
	keyPEM, err2 := os.ReadFile(filepath.Join(dir, nodeKeyFile))
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("node certificate in %s: %w", dir, err)
	}
	return MakeTLS(caPEM, certPEM, keyPEM)
}

// SaveTLS writes the certificates (the key readable by the owner only)
// and syncs them, so a node that was admitted keeps its identity.
func SaveTLS(dataDir string, caPEM, certPEM, keyPEM []byte) error {
	dir := filepath.Join(dataDir, TLSDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{caCertFile: caPEM, nodeCertFile: certPEM, nodeKeyFile: keyPEM} {
		if err := fsutil.WriteFile(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return nil
}

// serverConfig accepts node certificates from the cluster CA, and, only for
// the join handshake, clients without one (see transport.go).
func (t *TLS) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return t.cert.Load(), nil },
		ClientCAs:      t.pool,
		ClientAuth:     tls.VerifyClientCertIfGiven,
	}
}

// clientConfig presents this node's certificate and trusts only the
// cluster CA.
func (t *TLS) clientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return t.cert.Load(), nil },
		RootCAs:              t.pool,
		ServerName:           clusterServerName,
	}
}

// CAPEM is the cluster CA's certificate.
func (t *TLS) CAPEM() []byte { return t.caPEM }

// CertPEM is this node's certificate.
func (t *TLS) CertPEM() []byte { return pemBlock("CERTIFICATE", t.cert.Load().Certificate[0]) }

// KeyPEM is this node's private key.
func (t *TLS) KeyPEM() []byte { return t.keyPEM }

// NotAfter is when this node's certificate expires.
func (t *TLS) NotAfter() time.Time { return t.cert.Load().Leaf.NotAfter }

// ID is the node id the certificate names.
func (t *TLS) ID() string { return t.id }

// hasClusterCert reports whether the TLS peer presented a certificate that
// chains to the cluster CA (the server config already verified it).
func hasClusterCert(cs tls.ConnectionState) bool {
	return len(cs.VerifiedChains) > 0
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
