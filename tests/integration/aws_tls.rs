//! The AWS clients over TLS, as on Lambda: the emulator behind a TLS
//! endpoint whose certificate comes from a CA made for the test. Amazon's
//! roots alone must refuse it; `AWS_CA_BUNDLE` naming that CA must reach it.

use std::io::Write;
use std::sync::Arc;

use integration_tests::moto;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A TLS endpoint on loopback forwarding the bytes to the emulator; returns
/// its URL and the PEM of the CA that signed its certificate.
async fn tls_front_of_the_emulator() -> (String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let upstream = moto::endpoint().trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                // A refused handshake is what one of the tests wants to see.
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                if let Ok(mut emulator) = TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut emulator).await;
                }
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), ca.pem())
}

async fn list_tables(
    endpoint: &str,
    ca_bundle: Option<&std::path::Path>,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let http = provisioning::aws::http_client(ca_bundle).unwrap();
    let config = moto::sdk_config_at(endpoint, http).await;
    aws_sdk_dynamodb::Client::new(&config)
        .list_tables()
        .send()
        .await
        .map(drop)
        .map_err(Into::into)
}

#[tokio::test]
async fn the_ca_in_aws_ca_bundle_is_trusted_and_nothing_else_is() {
    let (endpoint, ca_pem) = tls_front_of_the_emulator().await;

    let refused = list_tables(&endpoint, None).await.unwrap_err();
    let refusal = format!("{:?}", refused);
    assert!(
        refusal.contains("UnknownIssuer"),
        "Amazon's roots alone must refuse a foreign CA, got: {refusal}"
    );

    let mut bundle = tempfile::NamedTempFile::new().unwrap();
    bundle.write_all(ca_pem.as_bytes()).unwrap();
    list_tables(&endpoint, Some(bundle.path()))
        .await
        .expect("the CA of AWS_CA_BUNDLE is trusted");
}
