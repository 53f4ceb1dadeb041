//! The `fake-cognito` image as a testcontainers module (feature `testcontainers`):
//! `FakeCognitoImage::default().start().await?` gives a running pool and its endpoint URL, with the
//! embedded pool or a mounted `--config` file; port mapping by default, or host networking on a
//! chosen port.

use std::borrow::Cow;
use std::path::Path;

use testcontainers::core::{ContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt as _, TestcontainersError};

const PORT: ContainerPort = ContainerPort::Tcp(9229);
/// Where a mounted pool file appears inside the container.
const CONFIG_INSIDE: &str = "/fake-cognito.toml";

/// The `fake-cognito` image, configured.
#[derive(Debug, Clone)]
pub struct FakeCognitoImage {
    tag: String,
    host_port: Option<u16>,
    config: Option<String>,
    args: Vec<String>,
}

impl Default for FakeCognitoImage {
    /// `fake-cognito:local` (what `scripts/build-images` tags), the embedded pool, port mapping.
    fn default() -> Self {
        Self {
            tag: "local".into(),
            host_port: None,
            config: None,
            args: Vec::new(),
        }
    }
}

/// A started fake-cognito; the container stops when this is dropped.
pub struct RunningFakeCognito {
    /// The container.
    pub container: ContainerAsync<FakeCognitoImage>,
    /// The endpoint (`--endpoint-url` for an SDK or the AWS CLI).
    pub url: String,
}

impl FakeCognitoImage {
    /// Another tag of the image.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// Host networking, listening on `127.0.0.1:port`.
    pub fn with_host_network(mut self, port: u16) -> Self {
        self.host_port = Some(port);
        self
    }

    /// Mounts this pool file (the `--config` TOML) into the container and uses it.
    pub fn with_config(mut self, path: &Path) -> Self {
        self.config = Some(path.display().to_string());
        self
    }

    /// More arguments (e.g. `--issuer local`).
    pub fn with_args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Starts the container and waits until it listens.
    pub async fn start(self) -> Result<RunningFakeCognito, TestcontainersError> {
        let host_port = self.host_port;
        let config = self.config.clone();
        let mut request = ContainerRequest::from(self);
        if let Some(port) = host_port {
            request = request
                .with_network("host")
                .with_env_var("FAKE_COGNITO_ADDR", format!("127.0.0.1:{port}"));
        }
        if let Some(config) = config {
            request = request.with_mount(Mount::bind_mount(config, CONFIG_INSIDE));
        }
        let container = request.start().await?;
        let url = match host_port {
            Some(port) => format!("http://127.0.0.1:{port}"),
            None => format!(
                "http://{}:{}",
                container.get_host().await?,
                container.get_host_port_ipv4(PORT).await?
            ),
        };
        Ok(RunningFakeCognito { container, url })
    }
}

impl Image for FakeCognitoImage {
    fn name(&self) -> &str {
        "fake-cognito"
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout("fake-cognito listening on")]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        let mut args = self.args.clone();
        if self.config.is_some() {
            args.extend(["--config".to_owned(), CONFIG_INSIDE.to_owned()]);
        }
        args
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        if self.host_port.is_some() {
            &[]
        } else {
            std::slice::from_ref(&PORT)
        }
    }
}
