//! The AWS SDK configuration every client of a function shares: region,
//! credentials and `AWS_ENDPOINT_URL` from the environment, over an HTTPS
//! client chosen for cold starts.
//!
//! The SDK's default client loads every root certificate of the system when
//! a client is made (several milliseconds of every cold start) and uses
//! aws-lc, whose first random draw seeds jitter entropy (tens of
//! milliseconds, paid by the first TLS handshake). This one trusts the
//! Amazon Trust Services roots compiled in (Amazon Root CA 1-4 and the
//! Starfield Services root that cross-signs them, from Debian's
//! ca-certificates), which every AWS endpoint chains to, runs
//! rustls on ring, which draws from the kernel, and builds its
//! connector at the first request rather than once per client made.

use std::path::Path;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

const AMAZON_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error("AWS_CA_BUNDLE {path}: {reason}")]
    CaBundle { path: String, reason: String },
}

/// Loads the SDK configuration; `ca_bundle` (`AWS_CA_BUNDLE`) replaces the
/// Amazon roots, as it does for the AWS CLI, for endpoints that present
/// another CA's certificate.
pub async fn load(ca_bundle: Option<&Path>) -> Result<SdkConfig, AwsSetupError> {
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client(ca_bundle)?)
        .load()
        .await)
}

/// An HTTPS client trusting the Amazon roots, or only the PEM bundle at
/// `ca_bundle` when given. The connector, and with it the parsed trust
/// store, is built at the first request.
pub fn http_client(ca_bundle: Option<&Path>) -> Result<SharedHttpClient, AwsSetupError> {
    let roots = match ca_bundle {
        Some(path) => read_bundle(path)?,
        None => AMAZON_ROOTS.to_vec(),
    };
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context without extra server names always builds");
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    Ok(SharedHttpClient::new(ConnectOnFirstRequest(client)))
}

/// The smithy client, without its check at client construction: that
/// check builds a whole TLS connector, parsing the roots, for every SDK
/// client made (the credential chain's STS client included) so that system
/// roots load before the first request. A connector is still built, once,
/// by the first request that needs it.
#[derive(Debug)]
struct ConnectOnFirstRequest(SharedHttpClient);

impl HttpClient for ConnectOnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The usable roots of the PEM bundle at `path`, as PEM. Certificates
/// that do not parse as trust anchors are left out with a warning (the SDK
/// would panic on them); a bundle without one usable root is an error.
fn read_bundle(path: &Path) -> Result<Vec<u8>, AwsSetupError> {
    let fail = |reason: String| AwsSetupError::CaBundle {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| fail(error.to_string()))?;
    let mut usable = String::new();
    let mut left_out = 0;
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|error| fail(format!("not PEM: {error}")))?;
        if rustls::RootCertStore::empty()
            .add(certificate.clone())
            .is_ok()
        {
            usable.push_str(&to_pem(&certificate));
        } else {
            left_out += 1;
        }
    }
    if usable.is_empty() {
        return Err(fail("holds no usable root certificate".to_string()));
    }
    if left_out > 0 {
        tracing::warn!(
            left_out,
            bundle = %path.display(),
            "AWS_CA_BUNDLE: certificates that are not usable roots are left out"
        );
    }
    Ok(usable.into_bytes())
}

fn to_pem(certificate: &CertificateDer<'_>) -> String {
    let encoded = STANDARD.encode(certificate.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_compiled_in_roots_are_five_usable_anchors() {
        let certificates = CertificateDer::pem_slice_iter(AMAZON_ROOTS)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let mut store = rustls::RootCertStore::empty();
        let (added, refused) = store.add_parsable_certificates(certificates);
        assert_eq!((added, refused), (5, 0));
    }

    fn roots_in(pem: &[u8]) -> usize {
        CertificateDer::pem_slice_iter(pem).count()
    }

    fn bundle(content: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(content).unwrap();
        file
    }

    const GARBLED: &[u8] = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    #[test]
    fn a_bundle_keeps_its_usable_roots_only() {
        let good = bundle(AMAZON_ROOTS);
        let read = read_bundle(good.path()).unwrap();
        assert_eq!(roots_in(&read), 5);
        let mut store = rustls::RootCertStore::empty();
        let parsed = CertificateDer::pem_slice_iter(&read).map(Result::unwrap);
        assert_eq!(store.add_parsable_certificates(parsed), (5, 0));

        let mixed = bundle(&[GARBLED, AMAZON_ROOTS].concat());
        assert_eq!(roots_in(&read_bundle(mixed.path()).unwrap()), 5);
    }

    #[test]
    fn a_bundle_without_a_usable_root_is_refused_with_its_path() {
        for content in [&b"not a certificate"[..], GARBLED] {
            let file = bundle(content);
            let error = read_bundle(file.path()).unwrap_err().to_string();
            assert!(
                error.contains("holds no usable root certificate"),
                "{error}"
            );
            assert!(
                error.contains(&file.path().display().to_string()),
                "{error}"
            );
        }
        let error = read_bundle(Path::new("/nonexistent/bundle.pem"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/bundle.pem"), "{error}");
    }
}
