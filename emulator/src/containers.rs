//! The `chatbot-chain` image as a testcontainers module (feature `testcontainers`), for another
//! repository's tests: `ChatbotChain::default().start().await?` runs the image `scripts/build-images`
//! builds and returns the chain's URLs, demo user and IAM users from its `up --json` line.
//!
//! Two ways to reach it: port mapping (the default; an ordinary Docker with a bridge — the URLs are
//! rewritten to the mapped ports) or host networking on chosen ports ([`ChatbotChain::with_host_network`];
//! an engine without a bridge, like CI's here). With port mapping the chat page's origin is the mapped
//! one: allow it with `with_args(["--allow-origin", …])` if a browser uses the page.

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;
use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt as _, TestcontainersError};
use tokio::io::AsyncBufReadExt as _;

/// The listeners' ports inside the image (its defaults).
const PORTS: [ContainerPort; 5] = [
    ContainerPort::Tcp(9000),
    ContainerPort::Tcp(9001),
    ContainerPort::Tcp(9229),
    ContainerPort::Tcp(9300),
    ContainerPort::Tcp(9080),
];

/// How long the chain may take from container start to its JSON line.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// Host ports for [`ChatbotChain::with_host_network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPorts {
    /// The CloudFront edge.
    pub edge: u16,
    /// The Function URL.
    pub function_url: u16,
    /// fake-cognito.
    pub cognito: u16,
    /// fake-gemini.
    pub gemini: u16,
    /// The chat page.
    pub site: u16,
}

/// The `chatbot-chain` image, configured.
#[derive(Debug, Clone)]
pub struct ChatbotChain {
    tag: String,
    host_ports: Option<HostPorts>,
    /// Arguments to `emulator up --json`.
    args: Vec<String>,
}

impl Default for ChatbotChain {
    /// `chatbot-chain:local` (what `scripts/build-images` tags), port mapping, the embedded topology.
    fn default() -> Self {
        Self {
            tag: "local".into(),
            host_ports: None,
            args: Vec::new(),
        }
    }
}

/// One IAM user of the topology (for signing direct calls to the Function URL).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct IamUser {
    /// Its name in the topology.
    pub name: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

/// What `up --json` said, with URLs reachable from the test.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    /// The CloudFront edge (`…/chatbot` is the chatbot).
    pub edge_url: String,
    /// The Function URL (IAM auth: unsigned calls are refused).
    pub function_url: String,
    /// fake-cognito's endpoint.
    pub cognito_url: String,
    /// fake-gemini's endpoint.
    pub gemini_url: String,
    /// The chat page.
    pub site_url: Option<String>,
    /// The region.
    pub region: String,
    /// The user pool.
    pub user_pool_id: String,
    /// The app client.
    pub client_id: String,
    /// The demo user.
    pub username: String,
    /// The demo user's password.
    pub password: String,
    /// The topology's IAM users.
    pub iam_users: Vec<IamUser>,
}

/// A started chain; the container stops when this is dropped.
pub struct RunningChain {
    /// The container (logs, stop, exit code).
    pub container: ContainerAsync<ChatbotChain>,
    /// Its URLs and users.
    pub summary: Summary,
}

impl std::fmt::Debug for RunningChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningChain")
            .field("container", &self.container.id())
            .field("summary", &self.summary)
            .finish()
    }
}

/// Why the chain did not start.
#[derive(Debug, thiserror::Error)]
pub enum ChainContainerError {
    /// Docker refused or the container failed.
    #[error(transparent)]
    Docker(#[from] TestcontainersError),
    /// The container never printed its JSON line.
    #[error("chatbot-chain printed no `up --json` line: {0}")]
    NotReady(String),
}

impl ChatbotChain {
    /// Another tag of the image.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// Host networking with the listeners on these loopback ports (no port mapping).
    pub fn with_host_network(mut self, ports: HostPorts) -> Self {
        self.host_ports = Some(ports);
        self
    }

    /// More arguments to `emulator up` (e.g. `--allow-origin`, `--gemini-script` with a mount).
    pub fn with_args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    fn up_args(&self) -> Vec<String> {
        let mut args = self.args.clone();
        if let Some(ports) = self.host_ports {
            for (flag, port) in [
                ("--edge-addr", ports.edge),
                ("--url-addr", ports.function_url),
                ("--cognito-addr", ports.cognito),
                ("--gemini-addr", ports.gemini),
                ("--site-addr", ports.site),
            ] {
                args.extend([flag.to_owned(), format!("127.0.0.1:{port}")]);
            }
        }
        args
    }

    /// Starts the container and waits for its `up --json` line.
    pub async fn start(self) -> Result<RunningChain, ChainContainerError> {
        let host_network = self.host_ports.is_some();
        let mut request = ContainerRequest::from(self);
        if host_network {
            request = request.with_network("host");
        }
        let container = request.start().await?;
        let line = ready_line(&container).await?;
        let mut summary: Summary = serde_json::from_str(&line)
            .map_err(|e| ChainContainerError::NotReady(format!("{e}: {line}")))?;
        if !host_network {
            map_ports(&container, &mut summary).await?;
        }
        Ok(RunningChain { container, summary })
    }
}

/// The first stdout line that is a JSON object (`up --json` prints exactly one).
async fn ready_line(
    container: &ContainerAsync<ChatbotChain>,
) -> Result<String, ChainContainerError> {
    let mut stdout = container.stdout(true);
    let read = async {
        let mut line = String::new();
        loop {
            line.clear();
            let n = stdout
                .read_line(&mut line)
                .await
                .map_err(|e| ChainContainerError::NotReady(e.to_string()))?;
            if n == 0 {
                return Err(ChainContainerError::NotReady("the container exited".into()));
            }
            if line.trim_start().starts_with('{') {
                return Ok(line.trim().to_owned());
            }
        }
    };
    tokio::time::timeout(READY_LIMIT, read)
        .await
        .map_err(|_| ChainContainerError::NotReady(format!("nothing within {READY_LIMIT:?}")))?
}

/// Rewrites each URL's `127.0.0.1:<inside port>` to the host and port Docker mapped it to.
async fn map_ports(
    container: &ContainerAsync<ChatbotChain>,
    summary: &mut Summary,
) -> Result<(), ChainContainerError> {
    let host = container.get_host().await?;
    let urls = [
        Some(&mut summary.edge_url),
        Some(&mut summary.function_url),
        Some(&mut summary.cognito_url),
        Some(&mut summary.gemini_url),
        summary.site_url.as_mut(),
    ];
    for url in urls.into_iter().flatten() {
        let inside = reqwest::Url::parse(url)
            .ok()
            .and_then(|parsed| parsed.port())
            .ok_or_else(|| ChainContainerError::NotReady(format!("no port in {url}")))?;
        let outside = container.get_host_port_ipv4(inside).await?;
        *url = remapped(url, &host.to_string(), outside)?;
    }
    Ok(())
}

/// `url` with its host and port replaced, keeping whether it ends in `/`.
fn remapped(url: &str, host: &str, port: u16) -> Result<String, ChainContainerError> {
    let unchanged = || ChainContainerError::NotReady(format!("cannot rewrite {url}"));
    let mut parsed = reqwest::Url::parse(url).map_err(|_| unchanged())?;
    parsed.set_host(Some(host)).map_err(|_| unchanged())?;
    parsed.set_port(Some(port)).map_err(|()| unchanged())?;
    // Url always has a path ("/"); the summary's URLs without one stay without.
    let text = parsed.to_string();
    Ok(if url.ends_with('/') {
        text
    } else {
        text.trim_end_matches('/').to_owned()
    })
}

impl Image for ChatbotChain {
    fn name(&self) -> &str {
        "chatbot-chain"
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        // `up --json` prints its line once every listener is bound.
        vec![WaitFor::message_on_stdout("\"edge_url\"")]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        self.up_args()
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        if self.host_ports.is_some() {
            &[]
        } else {
            &PORTS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_mapping_rewrites_host_and_port_and_keeps_the_trailing_slash_or_its_absence() {
        assert_eq!(
            remapped("http://127.0.0.1:9000", "localhost", 32768).unwrap(),
            "http://localhost:32768"
        );
        assert_eq!(
            remapped("http://127.0.0.1:9080/", "10.0.0.5", 49153).unwrap(),
            "http://10.0.0.5:49153/"
        );
        assert!(remapped("not a url", "localhost", 1).is_err());
    }
}
