//! A throw-away certificate authority (rcgen) and one server certificate it signs, and an
//! HTTPS server that presents it. Clients trust the CA through `extra_ca_pem` or a reqwest root.

use std::sync::Arc;

/// A CA made for one test and a certificate for `names` signed by it.
pub struct TestPki {
    /// The CA certificate, to trust.
    pub ca_pem: String,
    pub cert_der: rustls::pki_types::CertificateDer<'static>,
    pub cert_pem: String,
    /// The certificate's private key (PKCS #8).
    pub key_der: Vec<u8>,
    pub key_pem: String,
}

impl TestPki {
    /// A fresh CA and a server certificate (`serverAuth`) for `names`, the first of which is
    /// also its common name. Wildcards cover one label: name each level used.
    pub fn issue(names: &[&str]) -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "atauth throw-away test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");

        let leaf_key = KeyPair::generate().expect("server key");
        let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut leaf = CertificateParams::new(owned).expect("server certificate parameters");
        if let Some(first) = names.first() {
            leaf.distinguished_name.push(DnType::CommonName, *first);
        }
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .expect("server certificate");
        Self {
            ca_pem: ca_cert.pem(),
            cert_der: leaf_cert.der().clone(),
            cert_pem: leaf_cert.pem(),
            key_der: leaf_key.serialize_der(),
            key_pem: leaf_key.serialize_pem(),
        }
    }

    /// A TLS server configuration presenting the certificate (aws-lc-rs, TLS 1.2 and 1.3).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert_der.clone()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(self.key_der.clone()).into(),
            )
            .expect("server certificate and key");
        Arc::new(config)
    }

    /// Serves `app` over HTTPS on `listener` (already bound, so its address is known and no
    /// one else can take it) until the runtime ends.
    pub fn serve_https(&self, listener: std::net::TcpListener, app: axum::Router) {
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let tls = axum_server::tls_rustls::RustlsConfig::from_config(self.server_config());
        tokio::spawn(async move {
            axum_server::from_tcp_rustls(listener, tls)
                .serve(app.into_make_service())
                .await
        });
    }
}
