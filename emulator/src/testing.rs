//! What the emulator's own tests and the e2e suite share (one harness, not two): fake-cognito with its
//! fixed test keys (a chain starts in milliseconds), a SigV4 signer for direct calls to the Function
//! URL (an IAM user of the topology, or CloudFront's OAC role) built on the `aws-sigv4` crate, the
//! scripted stand-in function that crashes or hangs, and a bounded wait.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::runtime::{FunctionProcess, Logs};
use crate::topology::Topology;

/// fake-cognito's test key for ID tokens.
pub const ID_PEM: &str = include_str!("../../fake-cognito/tests/data/pool1-id.pem");
/// fake-cognito's test key for access tokens.
pub const ACCESS_PEM: &str = include_str!("../../fake-cognito/tests/data/pool1-access.pem");

/// fake-cognito's embedded default with the fixed test keys.
pub fn cognito_config() -> fake_cognito::Config {
    let mut config = fake_cognito::Config::default();
    config.pools[0].id_token_key = fake_cognito::KeySource::Pem(ID_PEM.into());
    config.pools[0].access_token_key = fake_cognito::KeySource::Pem(ACCESS_PEM.into());
    config
}

/// A chain on port 0 running `function`, fake-cognito with its test keys, fake-gemini answering only
/// `scenarios`.
pub fn chain_config(
    function: FunctionProcess,
    scenarios: Vec<fake_gemini::Scenario>,
) -> crate::chain::ChainConfig {
    let mut config = crate::chain::ChainConfig::local(function);
    config.cognito = cognito_config();
    config.gemini.default_scenario = false;
    config.gemini.scenarios = scenarios;
    config
}

/// The reference client pointed at `chain`, and the demo user's access token.
///
/// # Panics
/// If the demo user cannot sign in (the chain is broken).
pub async fn demo_client(chain: &crate::chain::Chain) -> (crate::client::Client, String) {
    let client = crate::client::Client::new(
        chain.edge.url(),
        chain.cognito.url(),
        fake_cognito::config::DEFAULT_CLIENT_ID,
    );
    let tokens = client
        .sign_in(
            fake_cognito::config::DEFAULT_USERNAME,
            fake_cognito::config::DEFAULT_PASSWORD,
        )
        .await
        .expect("the demo user signs in");
    (client, tokens.access_token)
}

/// The pids whose parent is `parent` (from `/proc`): a test proves function processes were reaped.
pub fn child_processes(parent: u32) -> Vec<u32> {
    let parent = parent.to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("PPid:").map(|v| v.trim().to_owned()))
                })
                .is_some_and(|ppid| ppid == parent)
        })
        .collect()
}

/// The bash stand-in function: takes one invocation, then does what `$BEHAVIOUR` says (`crash`:
/// exit 3, `hang`: until killed); dumps its environment to `$ENV_DUMP` when set.
pub fn scripted_function() -> FunctionProcess {
    FunctionProcess {
        program: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testing/scripted.sh"),
        args: Vec::new(),
        logs: Logs::Discard,
    }
}

/// Who signs a direct request to the Function URL.
#[derive(Clone)]
pub struct Signer {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret: String,
    /// Session token (temporary credentials).
    pub session_token: Option<String>,
    /// Add `x-amz-content-sha256` (what CloudFront's OAC sends).
    pub content_sha256_header: bool,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The topology's IAM user `name`.
    ///
    /// # Panics
    /// If the topology has no such user (a test-setup error).
    pub fn user(topology: &Topology, name: &str) -> Self {
        let user = topology
            .iam_users
            .iter()
            .find(|u| u.name == name)
            .unwrap_or_else(|| panic!("no IAM user {name} in the topology"));
        Self {
            access_key_id: user.access_key_id.clone(),
            secret: user.secret_access_key.clone(),
            session_token: None,
            content_sha256_header: false,
        }
    }

    /// CloudFront's OAC role, as the edge signs.
    pub fn oac() -> Self {
        let identity = crate::function_url::auth::oac_identity();
        Self {
            access_key_id: identity.access_key_id,
            secret: identity.secret_access_key,
            session_token: identity.session_token,
            content_sha256_header: true,
        }
    }

    /// Every header of a `POST /chatbot` with `body` and `extra` headers, signed for the URL's AWS
    /// host at `time` (host and `content-type: application/json` included).
    pub fn sign(
        &self,
        topology: &Topology,
        body: &[u8],
        extra: &[(&str, &str)],
        time: SystemTime,
    ) -> Vec<(String, String)> {
        use aws_credential_types::Credentials;
        use aws_sigv4::http_request::{
            PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
        };
        use aws_sigv4::sign::v4;
        let host = topology.function_url_host();
        let url = format!("https://{host}/chatbot");
        let identity = Credentials::new(
            &self.access_key_id,
            &self.secret,
            self.session_token.clone(),
            None,
            "test",
        )
        .into();
        let mut settings = SigningSettings::default();
        if self.content_sha256_header {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&topology.region)
            .name("lambda")
            .time(time)
            .settings(settings)
            .build()
            .expect("signing parameters")
            .into();
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host),
            ("content-type".into(), "application/json".into()),
        ];
        headers.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .expect("a signable request");
        let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
        let (added, _) = instructions.into_parts();
        for header in added {
            headers.push((header.name().to_owned(), header.value().to_owned()));
        }
        headers
    }
}

/// Awaits `future`, panicking with `what` if it takes longer than `limit` — so a test that would
/// hang fails with a message instead.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    future: impl std::future::Future<Output = T>,
) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within {limit:?}"))
}
